export * from './vault-stack';
export * from './eso-store';
export * from './app-secret';
export * from './script-cron-job';
export * from './unseal-cron';
export * from './runtime-bundle';
export * from './eso-recovery-cron';
export * from './vault-backup';
