import type { Database } from '@mcp-gw/db';
import type { Priority, Status } from './tickets.js';

export const DEMO_PROJECTS = [
  { key: 'WEB', name: 'Web storefront' },
  { key: 'MOB', name: 'Mobile app' },
  { key: 'OPS', name: 'Infrastructure & operations' },
] as const;

interface DemoTicket {
  project: (typeof DEMO_PROJECTS)[number]['key'];
  title: string;
  body: string;
  status: Status;
  priority: Priority;
  assigned: boolean;
  comments: string[];
}

const DEMO_TICKETS: DemoTicket[] = [
  {
    project: 'WEB',
    title: 'Checkout button unresponsive on Safari 17',
    body: 'Customers on Safari 17.2 (macOS Sonoma) report that clicking "Place order" does nothing. No error in the UI. Console shows "TypeError: structuredClone is not a function" coming from the payment widget bundle. Started after the 3.14 release.',
    status: 'open',
    priority: 'urgent',
    assigned: true,
    comments: [
      'Reproduced on a clean Safari profile. Chrome and Firefox are fine.',
      'The payment widget was bumped to 5.2 in 3.14; its changelog mentions dropping the polyfill.',
    ],
  },
  {
    project: 'WEB',
    title: 'Product images load slowly on category pages',
    body: 'Category pages take 6-8 s to show images on 4G. Images are served at full resolution (2400px) and resized in CSS. We should serve responsive srcset variants from the image CDN.',
    status: 'open',
    priority: 'high',
    assigned: true,
    comments: ['Lighthouse LCP on /category/shoes is 7.1 s on the mobile profile.'],
  },
  {
    project: 'WEB',
    title: 'Typo in the returns policy page',
    body: 'The returns page says "recieve" twice in the second paragraph.',
    status: 'closed',
    priority: 'low',
    assigned: false,
    comments: ['Fixed in the CMS, no deploy needed.'],
  },
  {
    project: 'WEB',
    title: 'Discount code field accepts expired codes',
    body: 'Entering SUMMER23 (expired 2023-09-30) shows "code applied" but the total is unchanged. The validation endpoint returns 200 with discount 0 instead of a 422 with a reason.',
    status: 'pending',
    priority: 'normal',
    assigned: true,
    comments: ['Waiting for the pricing team to confirm the expected error message.'],
  },
  {
    project: 'WEB',
    title: 'Newsletter signup returns 500 for plus-addressed emails',
    body: 'Signing up with name+shop@example.com fails with HTTP 500. The email validator in the signup service rejects "+" and the exception is not caught.',
    status: 'open',
    priority: 'normal',
    assigned: false,
    comments: [],
  },
  {
    project: 'WEB',
    title: 'Add order tracking link to confirmation email',
    body: 'Support gets many "where is my order" emails. The order confirmation email should link to the carrier tracking page once a tracking number exists.',
    status: 'open',
    priority: 'low',
    assigned: false,
    comments: ['Product agrees; schedule after the holiday freeze.'],
  },
  {
    project: 'MOB',
    title: 'App crashes on launch on Android 14 after update 2.8.0',
    body: 'Crash reports show java.lang.SecurityException: registerReceiver requires RECEIVER_EXPORTED or RECEIVER_NOT_EXPORTED on Android 14. Affects about 12% of Android sessions since 2.8.0 rollout.',
    status: 'open',
    priority: 'urgent',
    assigned: true,
    comments: [
      'Rollout halted at 20% in the Play Console.',
      'Fix is a one-line flag on the push notification receiver; hotfix 2.8.1 in review.',
    ],
  },
  {
    project: 'MOB',
    title: 'Push notifications arrive twice on iOS',
    body: 'Some iOS users receive every order status notification twice. Looks like the device token is registered under two user records after a reinstall.',
    status: 'pending',
    priority: 'high',
    assigned: true,
    comments: ['Asked two affected customers for their app version and whether they reinstalled.'],
  },
  {
    project: 'MOB',
    title: 'Dark mode: unreadable text on the order history screen',
    body: 'In dark mode the order dates on the order history screen are dark grey on black. Contrast ratio is about 1.8:1.',
    status: 'open',
    priority: 'normal',
    assigned: false,
    comments: [],
  },
  {
    project: 'MOB',
    title: 'Support biometric login on Android',
    body: 'iOS has Face ID login since 2.5. Android users ask for fingerprint login via BiometricPrompt. Token must stay in the Android Keystore.',
    status: 'open',
    priority: 'low',
    assigned: false,
    comments: ['Security review needed before we store a refresh token behind biometrics.'],
  },
  {
    project: 'MOB',
    title: 'Cart badge count out of sync after removing items on web',
    body: 'Removing items from the cart on the website does not update the badge count in the app until it is restarted. The app caches the count and ignores the cart-updated event.',
    status: 'closed',
    priority: 'normal',
    assigned: true,
    comments: ['Fixed in 2.7.3 by refreshing the cart on foreground.'],
  },
  {
    project: 'OPS',
    title: 'Database backups failing since Tuesday',
    body: 'The nightly pg_dump job has failed three nights in a row with "No space left on device" on the backup volume. Last good backup is from Monday 02:00 UTC.',
    status: 'open',
    priority: 'urgent',
    assigned: true,
    comments: [
      'Backup volume is at 100%: retention cleanup was disabled during the storage migration and never re-enabled.',
      'Re-enabled retention; running a manual backup now.',
    ],
  },
  {
    project: 'OPS',
    title: 'Renew TLS certificate for api.example.com',
    body: 'The certificate for api.example.com expires in 14 days. It is not managed by the ACME client because it was issued manually for the old load balancer.',
    status: 'pending',
    priority: 'high',
    assigned: true,
    comments: ['Moving it to the ACME client; waiting for DNS change approval.'],
  },
  {
    project: 'OPS',
    title: 'Alert fatigue: disk usage warnings on build agents',
    body: 'Build agents page the on-call rotation at 80% disk usage several times a night; the cache cleanup runs at 85%. Raise the threshold or clean up earlier.',
    status: 'open',
    priority: 'normal',
    assigned: false,
    comments: [],
  },
  {
    project: 'OPS',
    title: 'Upgrade Redis to 7.2 in staging',
    body: 'Staging still runs Redis 6.2, which is end of life. Upgrade to 7.2 and check the session store and rate limiter against it.',
    status: 'closed',
    priority: 'low',
    assigned: true,
    comments: ['Done; no client changes were needed.'],
  },
];

/**
 * Creates the demo projects, tickets and comments, and makes every given user a member of each demo
 * project. Idempotent: when any demo project exists already it does nothing (returns created: false).
 */
export async function seedDemoTickets(db: Database, options: { userIds: string[] }): Promise<{ created: boolean; tickets: number }> {
  const { prisma } = db;
  const userIds = [...new Set(options.userIds)];
  if (userIds.length === 0) throw new Error('seedDemoTickets needs at least one user id');
  const existing = await prisma.project.count({ where: { key: { in: DEMO_PROJECTS.map((p) => p.key) } } });
  if (existing > 0) return { created: false, tickets: 0 };
  const projects = new Map<string, string>();
  let count = 0;
  await prisma.$transaction(async (tx) => {
    for (const p of DEMO_PROJECTS) {
      const project = await tx.project.create({ data: { key: p.key, name: p.name } });
      projects.set(p.key, project.id);
      for (const [i, userId] of userIds.entries()) {
        await tx.projectMember.create({ data: { projectId: project.id, userId, role: i === 0 ? 'owner' : 'member' } });
      }
    }
    const base = Date.now() - DEMO_TICKETS.length * 6 * 3600_000;
    for (const [i, t] of DEMO_TICKETS.entries()) {
      const createdAt = new Date(base + i * 6 * 3600_000);
      const reporterId = userIds[i % userIds.length]!;
      const assigneeId = t.assigned ? userIds[(i + 1) % userIds.length]! : null;
      const ticket = await tx.ticket.create({
        data: {
          projectId: projects.get(t.project)!,
          title: t.title,
          body: t.body,
          status: t.status,
          priority: t.priority,
          reporterId,
          assigneeId,
          createdAt,
          closedAt: t.status === 'closed' ? new Date(createdAt.getTime() + 3 * 3600_000) : null,
        },
      });
      for (const [j, body] of t.comments.entries()) {
        await tx.ticketComment.create({
          data: {
            ticketNumber: ticket.number,
            authorId: userIds[(i + j) % userIds.length]!,
            body,
            createdAt: new Date(createdAt.getTime() + (j + 1) * 3600_000),
          },
        });
      }
      count += 1;
    }
  });
  return { created: true, tickets: count };
}

/** Makes a user a member of every demo project that exists (idempotent). Returns the project keys. */
export async function addUserToDemoProjects(db: Database, userId: string, role = 'member'): Promise<string[]> {
  const projects = await db.prisma.project.findMany({ where: { key: { in: DEMO_PROJECTS.map((p) => p.key) } } });
  for (const p of projects) {
    await db.prisma.projectMember.upsert({
      where: { projectId_userId: { projectId: p.id, userId } },
      create: { projectId: p.id, userId, role },
      update: {},
    });
  }
  return projects.map((p) => p.key);
}
