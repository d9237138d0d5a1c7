/**
 * Field events for watchers (`FieldService.WatchFields`): the engine publishes, subscribers get
 * every event after they subscribed. A slow subscriber is the subscriber's business: `publish`
 * never blocks the engine (the API side buffers with a bound and ends a stream that falls behind).
 */
export type FieldEventKind = "field.created" | "field.dissolved" | "parent.created" | "parent.deactivated" | "step";

export interface FieldEvent {
  readonly kind: FieldEventKind;
  /** Engine step count when it happened. */
  readonly step: number;
  /** Field id (field events) or parent token id (parent events); 0 for `step`. */
  readonly id: number;
  readonly space: number;
  readonly level: number;
  readonly members: number;
}

export class FieldEventHub {
  private readonly listeners = new Set<(e: FieldEvent) => void>();

  subscribe(listener: (e: FieldEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(e: FieldEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  get size(): number {
    return this.listeners.size;
  }
}
