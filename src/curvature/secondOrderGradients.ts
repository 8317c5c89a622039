/** Placeholder until the second-order-correct gradients land. */
export function registerSecondOrderGradients(): void {}
