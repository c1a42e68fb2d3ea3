export const placeholder = 'cost';
