import type { Database, User } from '@mcp-gw/db';
import type { AuditLog } from '../audit.js';
import { normalizeEmail } from '../accounts.js';
import type { UpstreamIdpConfig } from './config.js';
import { FederationError, type UpstreamPerson } from './upstream.js';

/** What the account rules read of an IdP: sign-in IdPs and enterprise IdPs (ID-JAG issuers) alike. */
export type AccountPolicy = Pick<UpstreamIdpConfig, 'id' | 'label' | 'allowedDomains' | 'requiredClaim' | 'trustEmail'>;

/** The sign-in rules of an IdP's configuration, applied to the person it signed in. */
export function checkUpstreamPolicy(idp: AccountPolicy, person: UpstreamPerson): { email: string } {
  if (!person.email) {
    throw new FederationError('no_email', `${idp.label} did not share an email address for this account. Ask your administrator to allow the email scope.`);
  }
  const email = normalizeEmail(person.email);
  if (person.emailVerified === false) {
    throw new FederationError('email_unverified', `${idp.label} says ${email} is not verified. Verify it there, then sign in again.`);
  }
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (idp.allowedDomains.length && !idp.allowedDomains.includes(domain)) {
    throw new FederationError('domain_not_allowed', `Accounts of ${domain} cannot sign in here through ${idp.label}. Use your work account.`);
  }
  if (idp.requiredClaim) {
    const { name, value } = idp.requiredClaim;
    const actual = person.claims[name];
    const ok = Array.isArray(actual) ? actual.map(String).includes(value) : actual !== undefined && String(actual) === value;
    if (!ok) throw new FederationError('claim_missing', `Your ${idp.label} account is not allowed to use this server (it needs ${name} ${value}). Ask your administrator for access.`);
  }
  return { email };
}

/**
 * People who sign in upstream, as local accounts: linked by the IdP's `iss` + `sub` (never by a name
 * or an email, which an IdP may let people change), created on first sign-in.
 */
export class FederatedAccounts {
  constructor(
    private readonly db: Pick<Database, 'prisma'>,
    private readonly audit: AuditLog,
  ) {}

  /** The enabled account for this person, linking or creating it; a FederationError otherwise. */
  async signIn(idp: AccountPolicy, person: UpstreamPerson, ip?: string): Promise<User> {
    const { email } = checkUpstreamPolicy(idp, person);
    const { prisma } = this.db;
    // The only way an address becomes verified here: the IdP says so (or is trusted to).
    const vouched = person.emailVerified === true || idp.trustEmail === true;
    const key = { issuer_subject: { issuer: person.issuer, subject: person.subject } };
    const linked = await prisma.userIdentity.findUnique({ where: key, include: { user: true } });
    if (linked) {
      this.refuseDisabled(linked.user, idp);
      const now = new Date();
      await prisma.userIdentity.update({ where: { id: linked.id }, data: { lastLoginAt: now, email } });
      const verifies = vouched && linked.user.email === email && linked.user.emailVerifiedAt === null;
      await prisma.user.update({ where: { id: linked.userId }, data: { lastLoginAt: now, ...(verifies ? { emailVerifiedAt: now } : {}) } });
      return linked.user;
    }
    const existing = await prisma.user.findUnique({ where: { email } });
    if (existing) {
      this.refuseDisabled(existing, idp);
      // A service principal's address is ours to choose: no person may sign in as one.
      if (existing.kind !== 'person') throw new FederationError('service_account', `${email} is a service account here; people cannot sign in as one. Ask your administrator.`);
      // An address the IdP has not vouched for could be anyone's: it may not take over an account.
      if (person.emailVerified !== true && !idp.trustEmail) {
        throw new FederationError('link_needs_verified_email', `An account for ${email} already exists, and ${idp.label} does not confirm this address is verified. Ask your administrator to link your account.`);
      }
      try {
        await prisma.userIdentity.create({ data: { userId: existing.id, provider: idp.id, issuer: person.issuer, subject: person.subject, email, lastLoginAt: new Date() } });
      } catch (err) {
        if (isUniqueViolation(err)) return this.signIn(idp, person, ip); // the same first sign-in in another tab
        throw err;
      }
      // Linking needs a vouched address (above), so the account's email is now a verified one.
      const now = new Date();
      await prisma.user.update({ where: { id: existing.id }, data: { lastLoginAt: now, ...(existing.emailVerifiedAt ? {} : { emailVerifiedAt: now }) } });
      void this.audit.record({ actorType: 'user', actorId: existing.id, action: 'user.identity_linked', targetType: 'user', targetId: existing.id, ip, details: { idp: idp.id, issuer: person.issuer, subject: person.subject } });
      return existing;
    }
    let created: User;
    try {
      created = await prisma.user.create({
        data: {
          email,
          name: person.name?.trim() || email.slice(0, email.indexOf('@')),
          passwordHash: null,
          lastLoginAt: new Date(),
          emailVerifiedAt: vouched ? new Date() : null,
          identities: { create: { provider: idp.id, issuer: person.issuer, subject: person.subject, email, lastLoginAt: new Date() } },
        },
      });
    } catch (err) {
      if (isUniqueViolation(err)) return this.signIn(idp, person, ip);
      throw err;
    }
    void this.audit.record({ actorType: 'user', actorId: created.id, action: 'user.created', targetType: 'user', targetId: created.id, ip, details: { via: 'idp', idp: idp.id, issuer: person.issuer } });
    return created;
  }

  private refuseDisabled(user: User, idp: AccountPolicy): void {
    if (user.disabledAt) throw new FederationError('account_disabled', `Your account (${user.email}) is disabled here. Signing in at ${idp.label} does not change that: ask your administrator.`);
  }
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'P2002';
}
