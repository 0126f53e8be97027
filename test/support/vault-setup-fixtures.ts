import { readManifests } from '../../tools/vault-setup/manifests';
import { homelabDist } from './homelab-dist';

// What vault-setup's unit files share, apart from the integration harness (vault-setup-harness.ts), which starts
// servers and runs the CLI that these files do not need.

// The seed's four secrets, from a fixture: the project's dist/ grows as apps are added to main.ts.
export const realDist = () => readManifests(homelabDist());
