export * from './vault-stack';
export * from './eso-store';
export * from './app-secret';
