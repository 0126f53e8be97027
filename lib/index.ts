export * from './vault-stack';
