import { chargeCard, type Order } from "./checkout";

declare const BUILD_LABEL: string;

export function checkout(order: Order): string {
  const label: string = BUILD_LABEL;
  if (label.length > 100) {
    return label;
  }
  return chargeCard(order);
}
