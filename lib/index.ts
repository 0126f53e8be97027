export * from './vault-stack';
export * from './eso-store';
export * from './app-secret';
export * from './unseal-cron';
export * from './eso-recovery-cron';
export * from './vault-backup';
export * from './vault-alerts';
