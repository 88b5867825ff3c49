// A small TypeScript module that the tests bundle, minify and map.
export interface Order {
  id: string;
  total: number;
}

export function validateOrder(order: Order): void {
  if (order.total <= 0) {
    throw new RangeError(`order ${order.id} has no total`);
  }
}

export function chargeCard(order: Order): string {
  validateOrder(order);
  throw new Error(`card declined for order ${order.id}`);
}
