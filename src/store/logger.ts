/** The logger the store writes to (a winston logger fits). Its own file so lock.ts and store.ts share it without importing each other. */
export interface StoreLogger {
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}
