export const placeholder = 'retry';
