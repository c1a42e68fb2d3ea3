// The memory store's record of one sliding-window limit: the takes still in the window, oldest first, each with
// its time and amount, and their running sum. The TAKE and ADJUST scripts of redis-scripts.ts keep the same record
// in a sorted set and must agree with it number for number (test-store-suite.ts runs against both).
//
// A ring of (time, amount) pairs in one array: a take writes the next slot and the window's end moves the start,
// so once the ring has grown to the traffic a take allocates nothing (two arrays with a moving head allocated
// ~100 bytes a take in the bench, growing back after each compaction). The ring doubles when full and halves when
// three quarters of it are unused, so its size follows the traffic without resizing back and forth.

// Entries of a new or emptied ring: a limit of a few requests per minute never grows it.
const MIN_CAPACITY = 4;

// A Float64Array: times are beyond small integers, so a plain array would hold boxed or transitioning doubles; a
// typed array is allocated zeroed, without a fill.
function emptyRing(capacity: number): Float64Array {
  return new Float64Array(2 * capacity);
}

/** The takes of one sliding-window limit still in its window, and their sum. */
export class SlidingLog {
  // Entry i (0 is the oldest) is at slot (start + i) mod capacity: its time at 2 × slot, its amount after it.
  #ring: Float64Array = emptyRing(MIN_CAPACITY);
  #start = 0;
  #count = 0;
  #sum = 0;

  /** The sum of the amounts held: what was taken in the window (once trimmed to it). */
  get sum(): number {
    return this.#sum;
  }

  /** Time of the newest entry, or -Infinity when there is none. */
  newest(): number {
    return this.#count === 0 ? -Infinity : this.#timeOf(this.#count - 1);
  }

  /** Drops the entries taken at or before `cutoff` (now − window): they have left the window. */
  trim(cutoff: number): void {
    const ring = this.#ring;
    const capacity = ring.length >> 1;
    while (this.#count > 0 && (ring[2 * this.#start] as number) <= cutoff) {
      this.#sum -= ring[2 * this.#start + 1] as number;
      this.#start = this.#start + 1 === capacity ? 0 : this.#start + 1;
      this.#count -= 1;
    }
    if (this.#count === 0) this.#clear();
    else if (capacity > MIN_CAPACITY && this.#count * 4 <= capacity) this.#resize(capacity >> 1);
  }

  /** Records `amount` (> 0) taken at `time`, kept in time order even if the clock stepped back. */
  add(time: number, amount: number): void {
    if (this.#count === this.#ring.length >> 1) this.#resize(this.#count * 2);
    let index = this.#count;
    this.#count += 1;
    // Usually no step: only a clock that stepped back puts a take before the newest.
    while (index > 0 && this.#timeOf(index - 1) > time) {
      this.#move(index - 1, index);
      index -= 1;
    }
    const slot = this.#slotOf(index);
    this.#ring[slot] = time;
    this.#ring[slot + 1] = amount;
    this.#sum += amount;
  }

  /**
   * The time of the entry whose leaving lets `cost` fit within `capacity` (limit plus slack), the entries before it
   * leaving first; the newest entry's time if rounding kept every step short. Call only when `cost` does not fit
   * now and does fit an empty window.
   */
  freedBy(cost: number, capacity: number): number {
    let rest = this.#sum;
    for (let index = 0; index < this.#count; index += 1) {
      // Subtracted one by one, as trim() will when they leave, so the answer agrees with that take's check.
      rest -= this.#amountOf(index);
      if (rest + cost <= capacity) return this.#timeOf(index);
    }
    return this.newest();
  }

  /**
   * Adds `delta` to what the take at `at` (its ms) cost, if it is still in the window. Takes that shared that ms
   * are one group here: an extra debit goes to the oldest of them, a refund comes off them from the oldest on, and
   * an entry left with nothing is dropped. Which of them holds the units does not matter (they leave the window
   * together); that the group's total is exact does, and it is: a refund is never more than its own take's
   * estimate, which is part of the total. With no entry in that ms (a take of 0 units leaves none), an extra debit
   * is recorded as taken at `at` if that is after `cutoff`. Call after trim(cutoff), so that an entry that has left
   * the window is not found.
   */
  adjust(at: number, delta: number, cutoff: number): void {
    // The first entry at or after `at`: binary search, as a busy TPM limit holds one entry per take.
    let first = 0;
    let high = this.#count;
    while (first < high) {
      const middle = (first + high) >>> 1;
      if (this.#timeOf(middle) < at) first = middle + 1;
      else high = middle;
    }
    if (first === this.#count || this.#timeOf(first) >= at + 1) {
      if (delta > 0 && at > cutoff) this.add(at, delta);
      return;
    }
    if (delta >= 0) {
      this.#ring[this.#slotOf(first) + 1] = this.#amountOf(first) + delta;
      this.#sum += delta;
      return;
    }
    let refund = -delta;
    let end = first;
    let emptied = 0;
    for (; end < this.#count && refund > 0 && this.#timeOf(end) < at + 1; end += 1) {
      const slot = this.#slotOf(end);
      const amount = this.#ring[slot + 1] as number;
      const taken = Math.min(amount, refund);
      this.#sum -= taken;
      refund -= taken;
      this.#ring[slot + 1] = amount - taken;
      if (amount === taken) emptied += 1;
    }
    if (emptied === 0) return;
    // The emptied entries go; those after them move up (few: a settled take is usually among the newest).
    let kept = first;
    for (let index = first; index < this.#count; index += 1) {
      if (index < end && this.#amountOf(index) === 0) continue;
      if (kept !== index) this.#move(index, kept);
      kept += 1;
    }
    this.#count = kept;
    if (kept === 0) this.#clear();
  }

  #slotOf(index: number): number {
    const capacity = this.#ring.length >> 1;
    const slot = this.#start + index;
    return 2 * (slot >= capacity ? slot - capacity : slot);
  }

  #timeOf(index: number): number {
    return this.#ring[this.#slotOf(index)] as number;
  }

  #amountOf(index: number): number {
    return this.#ring[this.#slotOf(index) + 1] as number;
  }

  #move(from: number, to: number): void {
    const source = this.#slotOf(from);
    const target = this.#slotOf(to);
    this.#ring[target] = this.#ring[source] as number;
    this.#ring[target + 1] = this.#ring[source + 1] as number;
  }

  #resize(capacity: number): void {
    const ring = emptyRing(capacity);
    for (let index = 0; index < this.#count; index += 1) {
      const slot = this.#slotOf(index);
      ring[2 * index] = this.#ring[slot] as number;
      ring[2 * index + 1] = this.#ring[slot + 1] as number;
    }
    this.#ring = ring;
    this.#start = 0;
  }

  // Also the moment to drop what float subtraction left in the sum, and the room a busy spell left behind.
  #clear(): void {
    if (this.#ring.length > 2 * MIN_CAPACITY) this.#ring = emptyRing(MIN_CAPACITY);
    this.#start = 0;
    this.#count = 0;
    this.#sum = 0;
  }
}
