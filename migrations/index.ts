import { InitialSchema1763800000000 } from './1763800000000-initial-schema.js';
import { EmployeeAudit1763900000000 } from './1763900000000-employee-audit.js';
import { MessageClaimant1764000000000 } from './1764000000000-message-claimant.js';
import { DeliveryParts1764100000000 } from './1764100000000-delivery-parts.js';
import { SelfService1764200000000 } from './1764200000000-self-service.js';
import { AdminSecondEdition1764300000000 } from './1764300000000-admin-second-edition.js';

// Listed explicitly (not globbed) so the compiled service and the tests run the same set, in order.
export const MIGRATIONS = [InitialSchema1763800000000, EmployeeAudit1763900000000, MessageClaimant1764000000000, DeliveryParts1764100000000, SelfService1764200000000, AdminSecondEdition1764300000000];
