/**
 * Delivery of decoded events to the consumer: synchronous and in order, held in a FIFO while the
 * consumer is paused (never dropped). After every delivery run `onFlow` tells the stream reader the
 * backlog, so it can pause or resume the HTTP body (backpressure, see client.ts).
 */
import type { Event } from '../mesos/types.js';

export interface DeliveryHost {
  /** Hands one event to the subscribers. */
  emit(ev: Event): void;
  stopped(): boolean;
  /** The backlog changed (after a delivery run, or on pause). */
  onFlow(): void;
}

export class EventDelivery {
  // array + head index, compacted when drained
  private queue: Event[] = [];
  private head = 0;
  private delivering = false;
  private consumerPaused = false;

  constructor(private readonly host: DeliveryHost) {}

  /** Events decoded but not yet delivered. */
  get buffered(): number {
    return this.queue.length - this.head;
  }

  get paused(): boolean {
    return this.consumerPaused;
  }

  enqueue(ev: Event): void {
    this.queue.push(ev);
  }

  /** The consumer is busy: hold events. */
  pause(): void {
    if (this.consumerPaused) return;
    this.consumerPaused = true;
    this.host.onFlow();
  }

  /** Deliver held events. */
  resume(): void {
    if (!this.consumerPaused) return;
    this.consumerPaused = false;
    this.deliver();
  }

  /** Delivers what is queued unless the consumer paused (re-entrant calls are no-ops). */
  deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (!this.consumerPaused && this.head < this.queue.length && !this.host.stopped()) {
        const ev = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as Event;
        this.host.emit(ev);
      }
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.delivering = false;
    }
    this.host.onFlow();
  }

  /** Drops every undelivered event (stop). */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }
}
