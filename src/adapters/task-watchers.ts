import type { TaskListener, TaskRecord } from "../ports/task-store.ts";

/** Listeners by task id, for TaskStore.watch(): the in-process half of every store's notifications. */
export class TaskWatchers {
  readonly #listeners = new Map<string, Set<TaskListener>>();

  /** Adds a listener; `first` says the task had none before (a store may subscribe then). */
  add(taskId: string, listener: TaskListener): { first: boolean; remove: () => boolean } {
    let listeners = this.#listeners.get(taskId);
    const first = !listeners;
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(taskId, listeners);
    }
    listeners.add(listener);
    const set = listeners;
    return {
      first,
      /** True when this was the task's last listener (a store may unsubscribe then). */
      remove: () => {
        if (!set.delete(listener)) return false;
        if (set.size > 0 || this.#listeners.get(taskId) !== set) return false;
        this.#listeners.delete(taskId);
        return true;
      },
    };
  }

  has(taskId: string): boolean {
    return this.#listeners.has(taskId);
  }

  emit(task: TaskRecord): void {
    const listeners = this.#listeners.get(task.taskId);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        listener(task);
      } catch {
        // A listener's failure (a closed socket) must not stop the others or the store.
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
