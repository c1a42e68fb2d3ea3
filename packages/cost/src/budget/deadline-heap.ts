// A binary min-heap of items by deadline, where each item knows its own position, so that a settled reservation
// leaves the heap at once (O(log n)) instead of lingering until its deadline. Reservations of one counter can have
// different TTLs, so deadlines do not arrive in order and a plain queue would let one long TTL hide shorter ones
// behind it: expiry would be late, and budgets would refuse money that is free.

/** An item of a {@link DeadlineHeap}: the heap keeps `index` up to date; callers only read `deadline`. */
export interface HeapItem {
  deadline: number;
  index: number;
}

/** The items with the earliest deadline first. */
export interface DeadlineHeap<T extends HeapItem> {
  push(item: T): void;
  /** Removes `item` if it is in the heap. */
  remove(item: T): void;
  /** The item with the earliest deadline, without removing it. */
  peek(): T | undefined;
}

/** An empty heap. */
export function createDeadlineHeap<T extends HeapItem>(): DeadlineHeap<T> {
  const items: T[] = [];

  function place(item: T, index: number): void {
    items[index] = item;
    item.index = index;
  }

  function up(index: number): void {
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.deadline <= item.deadline) break;
      place(parent, index);
      index = parentIndex;
    }
    place(item, index);
  }

  function down(index: number): void {
    const item = items[index] as T;
    const length = items.length;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (items[right] as T).deadline < (items[left] as T).deadline ? right : left;
      if ((items[child] as T).deadline >= item.deadline) break;
      place(items[child] as T, index);
      index = child;
    }
    place(item, index);
  }

  return {
    push(item) {
      items.push(item);
      up(items.length - 1);
    },
    remove(item) {
      const index = item.index;
      if (items[index] !== item) return;
      const last = items.pop() as T;
      item.index = -1;
      if (last === item) return;
      place(last, index);
      up(index);
      down(last.index);
    },
    peek: () => items[0],
  };
}
