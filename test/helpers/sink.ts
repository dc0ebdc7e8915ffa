import { Writable } from 'node:stream';

/** A Writable that keeps everything written to it in `text` (CLI stdout/stderr in tests). */
export function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      (w as Writable & { text: string }).text += chunk.toString();
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}
