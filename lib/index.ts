export function defineConfig<T>(c: T): T { return c; }
export const marker = 'buildmaster-index';
