// The round-robin turn order of jobs that could start a task now: an intrusive doubly
// linked list, so taking a turn, rejoining at the back and leaving are O(1) and allocate nothing.

export interface RotationNode<T> {
  rotationPrev: T | null;
  rotationNext: T | null;
  inRotation: boolean;
}

export class Rotation<T extends RotationNode<T>> {
  #head: T | null = null;
  #tail: T | null = null;

  /** Appends `node` at the back; a node already in the rotation keeps its place. */
  push(node: T): void {
    if (node.inRotation) return;
    node.inRotation = true;
    node.rotationPrev = this.#tail;
    node.rotationNext = null;
    if (this.#tail === null) this.#head = node;
    else this.#tail.rotationNext = node;
    this.#tail = node;
  }

  get empty(): boolean {
    return this.#head === null;
  }

  /** Removes and returns the node whose turn it is. */
  shift(): T | null {
    const node = this.#head;
    if (node !== null) this.remove(node);
    return node;
  }

  remove(node: T): void {
    if (!node.inRotation) return;
    const { rotationPrev: prev, rotationNext: next } = node;
    if (prev === null) this.#head = next;
    else prev.rotationNext = next;
    if (next === null) this.#tail = prev;
    else next.rotationPrev = prev;
    node.rotationPrev = null;
    node.rotationNext = null;
    node.inRotation = false;
  }
}
