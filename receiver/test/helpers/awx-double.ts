/**
 * AWX API double for tests: the part of AWX's REST API that ansible-rulebook's `run_job_template` and
 * UNICOP's outcome poller use, plus AWX's default webhook notification. AWX itself cannot run here
 * (Kubernetes/containers only), so this follows AWX's and ansible-rulebook's sources instead:
 *
 *   ansible/awx (devel e21dd0a093, 2024-10):
 *   - awx/api/urls/urls.py, job_template.py, job.py, label.py, organization.py — the routes:
 *     /api/v2/config/, /unified_job_templates/, /job_templates/<id>/launch/, /job_templates/<id>/jobs/,
 *     /jobs/<id>/, /jobs/?id__in=…&labels__name=…, /labels/, /organizations/.
 *   - awx/api/views/__init__.py JobTemplateLaunch.post — 201, body `{job, ignored_fields, …JobSerializer}`,
 *     header `Location` = the job's absolute URL.
 *   - awx/api/serializers.py JobLaunchSerializer (accepted launch fields; fields whose `ask_*_on_launch` is
 *     false are ignored and reported in `ignored_fields`, awx/main/models/mixins.py), JobSerializer /
 *     UnifiedJobSerializer (job keys; `extra_vars` is a JSON string), UnifiedJobTemplateSerializer
 *     (`type`, `related.launch`, `summary_fields.organization`, `ask_*_on_launch`).
 *   - awx/main/models/unified_jobs.py JOB_STATUS_CHOICES (new, pending, waiting, running, successful, failed,
 *     error, canceled) and UnifiedJob.notification_data(); awx/main/models/jobs.py Job.notification_data()
 *     (`inventory, project, playbook, credential, limit, extra_vars` = display_extra_vars() — a JSON STRING, as
 *     Python's json.dumps wrote it (see pyJsonDumps) —,
 *     `hosts{name: {failed, changed, dark, failures, ok, processed, skipped, rescued, ignored}}`), get_ui_url().
 *   - awx/main/models/notifications.py JobNotificationMixin (STATUS_TO_TEMPLATE_TYPE: started / success / error;
 *     error covers failed, error and canceled; default body `{{ job_metadata }}` = json.dumps(notification_data())).
 *   - awx/main/notifications/webhook_backend.py WebhookBackend.send_messages — one POST (or PUT) with
 *     `Content-Type: application/json`, `User-Agent: AWX <version> (open)` merged with the STATIC configured
 *     headers, optional HTTP Basic; follows redirects but never retries on 4xx/5xx/connection errors. AWX
 *     cannot sign a notification, hence a static Authorization header.
 *   ansible/ansible-rulebook (1.3.2 from PyPI = stable-1.3):
 *   - ansible_rulebook/job_template_runner.py — GET config/ (needs `version`), GET unified_job_templates/?name=
 *     (follows `next` with &page=N; matches type, name, summary_fields.organization.name; reads id,
 *     related.launch, ask_limit/labels/inventory/variables_on_launch), labels (GET organizations/?name=,
 *     GET labels/?name=, POST labels/ — 400 "already exists" → re-GET), POST <launch> (reads `url`),
 *     GET job_templates/<id>/jobs/?labels__name=eda-event-uuid-<uuid> (persistence only).
 *   - ansible_rulebook/shared_job_monitor.py — polls GET jobs/?id__in=<ids>&page_size=<n> until status is
 *     successful | failed | error | canceled.
 *
 * Each launch's fate is scripted (a queue of fates, or a function of the launch): successful, failed (hosts
 * with failures), failed-unreachable (hosts with dark > 0), error, canceled, never-finishes, notification-lost.
 * Status goes pending → running → terminal after configurable delays; on a terminal status the double
 * POSTs AWX's default webhook body to the configured URL once, without retry (not at all for
 * notification-lost). Auth: `Authorization: Bearer <token>` (or Basic when configured), else 401.
 * Simplifications: one inventory/project/credential, no RBAC, no surveys, no workflows; `allowSimultaneous`
 * defaults to TRUE here (AWX's default is false, which serialises all jobs of one template — for per-root
 * parallelism a real template needs "Concurrent jobs" enabled).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';

export const FATE_KINDS = ['successful', 'failed', 'failed-unreachable', 'error', 'canceled', 'never-finishes', 'notification-lost'] as const;
export type FateKind = (typeof FATE_KINDS)[number];

export type TerminalStatus = 'successful' | 'failed' | 'error' | 'canceled';
export type JobStatus = 'pending' | 'waiting' | 'running' | TerminalStatus;
export const TERMINAL_STATUSES: readonly TerminalStatus[] = ['successful', 'failed', 'error', 'canceled'];

export interface FateSpec {
  kind: FateKind;
  /** ms in `pending` before `running` (default: options.pendingMs) */
  pendingMs?: number;
  /** ms in `running` before the terminal status (default: options.runMs) */
  runMs?: number;
  /** notification-lost only: the terminal status the job still reaches (default successful) */
  status?: TerminalStatus;
  /** job artifacts (set_stats) reported on the job */
  artifacts?: Record<string, unknown>;
}
export type Fate = FateKind | FateSpec;

export interface TemplateSpec {
  name: string;
  organization: string;
  id?: number;
  askVariables?: boolean;
  askLabels?: boolean;
  askLimit?: boolean;
  askInventory?: boolean;
  /** AWX "Concurrent jobs"; false: a job waits (pending) while another job of this template is running */
  allowSimultaneous?: boolean;
  playbook?: string;
}

export interface NotificationTarget {
  url: string;
  /** static headers, e.g. { Authorization: 'Bearer …' } — AWX cannot template or sign them */
  headers?: Record<string, string>;
  username?: string;
  password?: string;
  method?: 'POST' | 'PUT';
  /** which notification types are attached (default success + error: the terminal ones) */
  on?: Array<'started' | 'success' | 'error'>;
}

export interface AwxDoubleOptions {
  /** bearer token(s) accepted (default 'awx-test-token') */
  token?: string | string[];
  basic?: { username: string; password: string };
  templates?: TemplateSpec[];
  /** extra organizations (template organizations exist anyway) */
  organizations?: string[];
  /** a queue consumed one per launch (then `defaultFate`), or a function of the launch */
  fates?: Fate[] | ((launch: LaunchInfo) => Fate);
  defaultFate?: Fate;
  pendingMs?: number;
  runMs?: number;
  notification?: NotificationTarget;
  version?: string;
  /** page size of list endpoints unless ?page_size= (AWX default 25) */
  pageSize?: number;
  /** TOWER_URL_BASE for the UI url in notifications (default: the double's own URL) */
  uiBase?: string;
}

/** What the fate function sees. */
export interface LaunchInfo {
  template: { id: number; name: string; organization: string };
  extraVars: Record<string, unknown>;
  labels: string[];
  body: Record<string, unknown>;
}

export interface LaunchRecord {
  jobId: number;
  templateId: number;
  templateName: string;
  organization: string;
  /** the launch body as received */
  body: Record<string, unknown>;
  /** extra_vars as AWX accepted them ({} when ask_variables_on_launch is false) */
  extraVars: Record<string, unknown>;
  labelIds: number[];
  labels: string[];
  limit: string;
  ignoredFields: Record<string, unknown>;
  fate: FateSpec;
  /** epoch ms */
  launchedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  status: JobStatus;
}

export interface NotificationRecord {
  jobId: number;
  type: 'started' | 'success' | 'error';
  at: number;
  body: Record<string, unknown>;
  /** HTTP status of the single attempt, or null when it failed to connect */
  responseStatus: number | null;
  error: string | null;
}

export interface RequestRecord {
  at: number;
  method: string;
  path: string;
  query: Record<string, unknown>;
  status: number;
}

interface Label {
  id: number;
  name: string;
  organization: number;
}

interface Job {
  record: LaunchRecord;
  timer: NodeJS.Timeout | null;
  created: Date;
  started: Date | null;
  finished: Date | null;
  hosts: Record<string, HostSummary>;
  traceback: string;
  explanation: string;
}

interface HostSummary {
  failed: boolean;
  changed: number;
  dark: number;
  failures: number;
  ok: number;
  processed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

const API = '/api/v2';

function toSpec(fate: Fate): FateSpec {
  const spec = typeof fate === 'string' ? { kind: fate } : { ...fate };
  if (!FATE_KINDS.includes(spec.kind)) throw new Error(`awx-double: unknown fate ${String(spec.kind)}`);
  return spec;
}

function isoPy(date: Date | null): string | null {
  // Python's datetime.isoformat() of an aware UTC datetime: microseconds (none when 0) and +00:00
  if (!date) return null;
  const ms = date.getUTCMilliseconds();
  return date.toISOString().replace(/\.\d{3}Z$/, ms ? `.${String(ms).padStart(3, '0')}000+00:00` : '+00:00');
}

function isoZ(date: Date | null): string | null {
  // DRF's rendering of AWX datetimes: microseconds and Z
  return date ? date.toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}000Z`) : null;
}

/** Python's json.dumps() defaults (", " and ": " separators, ensure_ascii): how AWX stores extra_vars text. */
export function pyJsonDumps(value: unknown): string {
  const str = (s: string): string => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${str(k)}: ${pyJsonDumps(v)}`)
      .join(', ')}}`;
  }
  if (typeof value === 'string') return str(value);
  return JSON.stringify(value);
}

function hostSummary(partial: Partial<HostSummary>): HostSummary {
  return { failed: false, changed: 0, dark: 0, failures: 0, ok: 0, processed: 1, skipped: 0, rescued: 0, ignored: 0, ...partial };
}

export class AwxDouble {
  readonly options: Required<Pick<AwxDoubleOptions, 'pendingMs' | 'runMs' | 'version' | 'pageSize'>> & AwxDoubleOptions;
  private server: Server | null = null;
  private baseUrl = '';
  private readonly templates = new Map<number, Required<TemplateSpec>>();
  private readonly organizations = new Map<string, number>();
  private readonly labels = new Map<number, Label>();
  private readonly jobs = new Map<number, Job>();
  private readonly fateQueue: Fate[] = [];
  private fateFn: ((launch: LaunchInfo) => Fate) | null = null;
  private readonly launchLog: LaunchRecord[] = [];
  private readonly notificationLog: NotificationRecord[] = [];
  private readonly requestLog: RequestRecord[] = [];
  private readonly launchFaults: number[] = [];
  private readonly pendingDeliveries = new Set<Promise<void>>();
  private notificationTarget: NotificationTarget | null;
  private nextJobId = 1000;
  private nextLabelId = 1;

  constructor(options: AwxDoubleOptions = {}) {
    this.options = { pendingMs: 100, runMs: 500, version: '24.6.1', pageSize: 25, ...options };
    this.notificationTarget = options.notification ?? null;
    if (Array.isArray(options.fates)) this.fateQueue.push(...options.fates);
    else if (options.fates) this.fateFn = options.fates;
    let templateId = 7;
    for (const t of options.templates ?? [{ name: 'unicop-reconcile', organization: 'Default' }]) this.addTemplate({ id: templateId++, ...t });
    for (const org of options.organizations ?? []) this.organization(org);
  }

  /**
   * Listens on loopback, on an ephemeral port unless `port` is given (the container stack names the AWX URL before
   * it starts); resolves with the base URL (give it to --controller-url).
   */
  async start(listenPort = 0): Promise<string> {
    if (this.server) return this.baseUrl;
    const app = this.app();
    this.server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(listenPort, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this.baseUrl;
  }

  /** Stops timers and the server; waits for notifications in flight. */
  async stop(): Promise<void> {
    for (const job of this.jobs.values()) if (job.timer) clearTimeout(job.timer);
    await Promise.allSettled([...this.pendingDeliveries]);
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  }

  get url(): string {
    return this.baseUrl;
  }

  addTemplate(spec: TemplateSpec): number {
    const id = spec.id ?? Math.max(6, ...this.templates.keys()) + 1;
    this.templates.set(id, {
      id,
      name: spec.name,
      organization: spec.organization,
      askVariables: spec.askVariables ?? true,
      askLabels: spec.askLabels ?? true,
      askLimit: spec.askLimit ?? true,
      askInventory: spec.askInventory ?? true,
      allowSimultaneous: spec.allowSimultaneous ?? true,
      playbook: spec.playbook ?? 'unicop/reconcile.yml',
    });
    this.organization(spec.organization);
    return id;
  }

  /** Appends fates to the queue (used before `defaultFate`). */
  pushFates(...fates: Fate[]): void {
    this.fateQueue.push(...fates);
  }

  setFateFunction(fn: ((launch: LaunchInfo) => Fate) | null): void {
    this.fateFn = fn;
  }

  setNotification(target: NotificationTarget | null): void {
    this.notificationTarget = target;
  }

  /** The next `count` launches answer `status` (e.g. 502, 503) without creating a job. */
  failNextLaunches(status: number, count = 1): void {
    for (let i = 0; i < count; i++) this.launchFaults.push(status);
  }

  /** Moves a job (e.g. a never-finishing one) to a terminal status now, notifying as usual. */
  finishJob(jobId: number, status: TerminalStatus, options: { notify?: boolean } = {}): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`awx-double: no job ${jobId}`);
    if (job.timer) clearTimeout(job.timer);
    if (!job.started) job.started = new Date();
    this.finish(job, status, options.notify ?? true);
  }

  launches(): LaunchRecord[] {
    return this.launchLog.map((l) => ({ ...l }));
  }

  notifications(): NotificationRecord[] {
    return this.notificationLog.map((n) => ({ ...n }));
  }

  requests(): RequestRecord[] {
    return this.requestLog.map((r) => ({ ...r }));
  }

  /** A job as `GET /api/v2/jobs/<id>/` shows it. */
  job(jobId: number): Record<string, unknown> | null {
    const job = this.jobs.get(jobId);
    return job ? this.serializeJob(job) : null;
  }

  /** The body AWX's default webhook notification carries for this job (also what was POSTed). */
  notificationBody(jobId: number): Record<string, unknown> {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`awx-double: no job ${jobId}`);
    const r = job.record;
    return {
      id: r.jobId,
      name: r.templateName,
      url: `${(this.options.uiBase ?? this.baseUrl).replace(/\/+$/, '')}/jobs/playbook/${r.jobId}`,
      created_by: 'admin',
      started: isoPy(job.started),
      finished: isoPy(job.finished),
      status: r.status,
      traceback: job.traceback,
      inventory: 'Demo Inventory',
      project: 'unicop',
      playbook: this.templates.get(r.templateId)?.playbook ?? '',
      credential: 'Demo Credential',
      limit: r.limit,
      extra_vars: pyJsonDumps(r.extraVars),
      hosts: job.hosts,
    };
  }

  // ---------------------------------------------------------------- HTTP

  private app(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.use(express.json({ limit: '5mb' }));
    app.use((req, res, next) => {
      const record: RequestRecord = { at: Date.now(), method: req.method, path: req.path, query: { ...req.query }, status: 0 };
      this.requestLog.push(record);
      res.on('finish', () => (record.status = res.statusCode));
      next();
    });
    app.use((req, res, next) => this.authenticate(req, res, next));

    app.get(`${API}/config/`, (_req, res) => {
      res.json({ version: this.options.version, license_info: { license_type: 'open' }, ansible_version: '2.17.0', time_zone: 'UTC' });
    });
    app.get(`${API}/unified_job_templates/`, (req, res) => {
      const all = [...this.templates.values()].filter((t) => req.query.name === undefined || t.name === req.query.name);
      res.json(
        this.page(
          req,
          all.map((t) => this.serializeTemplate(t)),
        ),
      );
    });
    app.get(`${API}/job_templates/:id/`, (req, res) => {
      const t = this.templates.get(Number(req.params.id));
      if (!t) return void res.status(404).json({ detail: 'Not found.' });
      res.json(this.serializeTemplate(t));
    });
    app.get(`${API}/job_templates/:id/launch/`, (req, res) => {
      const t = this.templates.get(Number(req.params.id));
      if (!t) return void res.status(404).json({ detail: 'Not found.' });
      res.json({
        can_start_without_user_input: true,
        passwords_needed_to_start: [],
        ask_variables_on_launch: t.askVariables,
        ask_labels_on_launch: t.askLabels,
        ask_limit_on_launch: t.askLimit,
        ask_inventory_on_launch: t.askInventory,
        survey_enabled: false,
        variables_needed_to_start: [],
        credential_needed_to_start: false,
        inventory_needed_to_start: false,
        job_template_data: { name: t.name, id: t.id, description: '' },
        defaults: { extra_vars: '', limit: '', labels: [] },
      });
    });
    app.post(`${API}/job_templates/:id/launch/`, (req, res) => this.launch(req, res));
    app.get(`${API}/job_templates/:id/jobs/`, (req, res) => {
      const id = Number(req.params.id);
      if (!this.templates.has(id)) return void res.status(404).json({ detail: 'Not found.' });
      res.json(
        this.page(
          req,
          this.filterJobs(req)
            .filter((j) => j.record.templateId === id)
            .map((j) => this.serializeJob(j)),
        ),
      );
    });
    app.get(`${API}/jobs/`, (req, res) => {
      res.json(
        this.page(
          req,
          this.filterJobs(req).map((j) => this.serializeJob(j)),
        ),
      );
    });
    app.get(`${API}/jobs/:id/`, (req, res) => {
      const job = this.jobs.get(Number(req.params.id));
      if (!job) return void res.status(404).json({ detail: 'Not found.' });
      res.json(this.serializeJob(job));
    });
    app.get(`${API}/jobs/:id/labels/`, (req, res) => {
      const job = this.jobs.get(Number(req.params.id));
      if (!job) return void res.status(404).json({ detail: 'Not found.' });
      res.json(
        this.page(
          req,
          job.record.labelIds.map((id) => this.serializeLabel(this.labels.get(id)!)),
        ),
      );
    });
    app.get(`${API}/organizations/`, (req, res) => {
      const orgs = [...this.organizations.entries()].filter(([name]) => req.query.name === undefined || name === req.query.name);
      res.json(
        this.page(
          req,
          orgs.map(([name, id]) => ({ id, type: 'organization', url: `${API}/organizations/${id}/`, name, description: '' })),
        ),
      );
    });
    app.get(`${API}/labels/`, (req, res) => {
      const labels = [...this.labels.values()].filter((l) => req.query.name === undefined || l.name === req.query.name);
      res.json(
        this.page(
          req,
          labels.map((l) => this.serializeLabel(l)),
        ),
      );
    });
    app.post(`${API}/labels/`, (req, res) => {
      const body = (req.body ?? {}) as { name?: unknown; organization?: unknown };
      const errors: Record<string, string[]> = {};
      if (typeof body.name !== 'string' || body.name === '') errors.name = ['This field is required.'];
      else if (body.name.length > 512) errors.name = ['Ensure this field has no more than 512 characters.'];
      const orgId = Number(body.organization);
      if (![...this.organizations.values()].includes(orgId)) errors.organization = [`Invalid pk "${String(body.organization)}" - object does not exist.`];
      if (Object.keys(errors).length) return void res.status(400).json(errors);
      if ([...this.labels.values()].some((l) => l.name === body.name && l.organization === orgId)) {
        return void res.status(400).json({ __all__: ['Label with this Name and Organization already exists.'] });
      }
      const label: Label = { id: this.nextLabelId++, name: body.name as string, organization: orgId };
      this.labels.set(label.id, label);
      res.status(201).json(this.serializeLabel(label));
    });
    app.use((_req: Request, res: Response) => {
      res.status(404).json({ detail: 'Not found.' });
    });
    return app;
  }

  private authenticate(req: Request, res: Response, next: NextFunction): void {
    const header = req.get('authorization') ?? '';
    const tokens = [this.options.token ?? 'awx-test-token'].flat();
    const [scheme, value] = header.split(/\s+/, 2);
    let ok = scheme?.toLowerCase() === 'bearer' && value !== undefined && tokens.includes(value);
    if (!ok && this.options.basic && scheme?.toLowerCase() === 'basic' && value) {
      const { username, password } = this.options.basic;
      ok = Buffer.from(value, 'base64').toString('utf8') === `${username}:${password}`;
    }
    if (ok) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm=api authorization_url=/api/o/authorize/')
      .json({ detail: header ? 'Invalid token.' : 'Authentication credentials were not provided.' });
  }

  private page<T>(req: Request, items: T[]): { count: number; next: string | null; previous: string | null; results: T[] } {
    const size = Math.max(1, Math.min(200, Number(req.query.page_size ?? this.options.pageSize) || this.options.pageSize));
    const page = Math.max(1, Number(req.query.page ?? 1) || 1);
    const start = (page - 1) * size;
    const link = (n: number): string => {
      const q = new URLSearchParams(Object.entries(req.query).map(([k, v]): [string, string] => [k, String(v)]));
      q.set('page', String(n));
      return `${req.path}?${q.toString()}`;
    };
    return {
      count: items.length,
      next: start + size < items.length ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
      results: items.slice(start, start + size),
    };
  }

  private filterJobs(req: Request): Job[] {
    let jobs = [...this.jobs.values()];
    if (typeof req.query.id__in === 'string') {
      const ids = new Set(req.query.id__in.split(',').map((s) => Number(s.trim())));
      jobs = jobs.filter((j) => ids.has(j.record.jobId));
    }
    if (typeof req.query.id === 'string') jobs = jobs.filter((j) => j.record.jobId === Number(req.query.id));
    if (typeof req.query.labels__name === 'string') {
      const name = req.query.labels__name;
      jobs = jobs.filter((j) => j.record.labels.includes(name));
    }
    if (typeof req.query.status === 'string') jobs = jobs.filter((j) => j.record.status === req.query.status);
    if (typeof req.query.name === 'string') jobs = jobs.filter((j) => j.record.templateName === req.query.name);
    // AWX's default ordering of unified jobs is newest first
    return jobs.sort((a, b) => b.record.jobId - a.record.jobId);
  }

  private launch(req: Request, res: Response): void {
    const template = this.templates.get(Number(req.params.id));
    if (!template) return void res.status(404).json({ detail: 'Not found.' });
    const fault = this.launchFaults.shift();
    if (fault !== undefined) return void res.status(fault).json({ detail: `injected launch fault ${fault}` });

    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    let extraVars: Record<string, unknown> = {};
    if (body.extra_vars !== undefined) {
      const raw = typeof body.extra_vars === 'string' ? safeJson(body.extra_vars) : body.extra_vars;
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        return void res.status(400).json({ extra_vars: ['Must be a valid JSON or YAML dictionary.'] });
      }
      extraVars = raw as Record<string, unknown>;
    }
    const ignored: Record<string, unknown> = {};
    if (Object.keys(extraVars).length && !template.askVariables) {
      ignored.extra_vars = extraVars;
      extraVars = {};
    }
    let limit = '';
    if (body.limit !== undefined) {
      if (template.askLimit) limit = String(body.limit);
      else ignored.limit = body.limit;
    }
    let labelIds: number[] = [];
    if (body.labels !== undefined) {
      const ids = Array.isArray(body.labels) ? body.labels.map(Number) : [];
      const unknown = ids.filter((id) => !this.labels.has(id));
      if (unknown.length) return void res.status(400).json({ labels: [`Invalid pk "${unknown[0]}" - object does not exist.`] });
      if (template.askLabels) labelIds = ids;
      else ignored.labels = ids;
    }
    if (body.inventory !== undefined && !template.askInventory) ignored.inventory = body.inventory;

    const labels = labelIds.map((id) => this.labels.get(id)!.name);
    const info: LaunchInfo = {
      template: { id: template.id, name: template.name, organization: template.organization },
      extraVars,
      labels,
      body,
    };
    const fate = toSpec(this.fateFn ? this.fateFn(info) : (this.fateQueue.shift() ?? this.options.defaultFate ?? 'successful'));
    const now = new Date();
    const record: LaunchRecord = {
      jobId: this.nextJobId++,
      templateId: template.id,
      templateName: template.name,
      organization: template.organization,
      body,
      extraVars,
      labelIds,
      labels,
      limit,
      ignoredFields: ignored,
      fate,
      launchedAt: now.getTime(),
      startedAt: null,
      finishedAt: null,
      status: 'pending',
    };
    const job: Job = { record, timer: null, created: now, started: null, finished: null, hosts: {}, traceback: '', explanation: '' };
    this.jobs.set(record.jobId, job);
    this.launchLog.push(record);
    this.schedulePending(job, fate.pendingMs ?? this.options.pendingMs);

    const serialized = this.serializeJob(job);
    res
      .status(201)
      .set('Location', `${this.baseUrl}${API}/jobs/${record.jobId}/`)
      .json({ job: record.jobId, ignored_fields: ignored, ...serialized });
  }

  // ---------------------------------------------------------------- job lifecycle

  private schedulePending(job: Job, delayMs: number): void {
    job.timer = setTimeout(() => {
      job.timer = null;
      const template = this.templates.get(job.record.templateId)!;
      const blocked =
        !template.allowSimultaneous && [...this.jobs.values()].some((j) => j !== job && j.record.templateId === template.id && j.record.status === 'running');
      if (blocked) {
        job.record.status = 'waiting';
        return this.schedulePending(job, 50);
      }
      this.run(job);
    }, delayMs);
  }

  private run(job: Job): void {
    const fate = job.record.fate;
    job.started = new Date();
    job.record.startedAt = job.started.getTime();
    job.record.status = 'running';
    this.notify(job, 'started');
    if (fate.kind === 'never-finishes') return;
    job.timer = setTimeout(() => {
      job.timer = null;
      const status: TerminalStatus =
        fate.kind === 'notification-lost' ? (fate.status ?? 'successful') : fate.kind === 'failed-unreachable' ? 'failed' : (fate.kind as TerminalStatus);
      this.finish(job, status, fate.kind !== 'notification-lost');
    }, fate.runMs ?? this.options.runMs);
  }

  private finish(job: Job, status: TerminalStatus, notify: boolean): void {
    const fate = job.record.fate;
    job.finished = new Date();
    job.record.finishedAt = job.finished.getTime();
    job.record.status = status;
    const host = String(job.record.extraVars.unicop_root ?? 'localhost').replace(/[^A-Za-z0-9_.:-]/g, '_');
    if (status === 'successful') job.hosts = { [host]: hostSummary({ ok: 3, changed: 1 }) };
    else if (status === 'failed' && fate.kind === 'failed-unreachable') job.hosts = { [host]: hostSummary({ failed: false, dark: 1 }) };
    else if (status === 'failed') job.hosts = { [host]: hostSummary({ failed: true, failures: 1, ok: 2 }) };
    else if (status === 'error') {
      job.hosts = {};
      job.traceback = 'Traceback (most recent call last):\n  ...\nRuntimeError: scripted error (awx-double)';
      job.explanation = 'Job terminated due to error';
    } else if (status === 'canceled') {
      job.hosts = {};
      job.explanation = 'Job was canceled (awx-double)';
    }
    if (notify) this.notify(job, status === 'successful' ? 'success' : 'error');
  }

  private notify(job: Job, type: 'started' | 'success' | 'error'): void {
    const target = this.notificationTarget;
    if (!target || !(target.on ?? ['success', 'error']).includes(type)) return;
    const body = this.notificationBody(job.record.jobId);
    const record: NotificationRecord = { jobId: job.record.jobId, type, at: Date.now(), body, responseStatus: null, error: null };
    this.notificationLog.push(record);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': `AWX ${this.options.version} (open)`,
      ...(target.headers ?? {}),
    };
    if (target.username || target.password) {
      headers.Authorization = `Basic ${Buffer.from(`${target.username ?? ''}:${target.password ?? ''}`).toString('base64')}`;
    }
    const delivery = fetch(target.url, { method: target.method ?? 'POST', headers, body: JSON.stringify(body), redirect: 'follow' })
      .then(async (res) => {
        record.responseStatus = res.status;
        if (res.status >= 400) record.error = `Error sending webhook notification: ${res.status}`;
        await res.arrayBuffer().catch(() => undefined);
      })
      .catch((error: unknown) => {
        record.error = String(error); // AWX logs it and never retries
      })
      .finally(() => this.pendingDeliveries.delete(delivery));
    this.pendingDeliveries.add(delivery);
  }

  // ---------------------------------------------------------------- serializers

  private organization(name: string): number {
    let id = this.organizations.get(name);
    if (id === undefined) {
      id = this.organizations.size + 1;
      this.organizations.set(name, id);
    }
    return id;
  }

  private serializeTemplate(t: Required<TemplateSpec>): Record<string, unknown> {
    const orgId = this.organization(t.organization);
    return {
      id: t.id,
      type: 'job_template',
      url: `${API}/job_templates/${t.id}/`,
      related: {
        launch: `${API}/job_templates/${t.id}/launch/`,
        jobs: `${API}/job_templates/${t.id}/jobs/`,
        organization: `${API}/organizations/${orgId}/`,
        notification_templates_success: `${API}/job_templates/${t.id}/notification_templates_success/`,
        notification_templates_error: `${API}/job_templates/${t.id}/notification_templates_error/`,
      },
      summary_fields: {
        organization: { id: orgId, name: t.organization, description: '' },
        inventory: { id: 1, name: 'Demo Inventory' },
        project: { id: 1, name: 'unicop' },
      },
      name: t.name,
      description: '',
      job_type: 'run',
      inventory: 1,
      project: 1,
      playbook: t.playbook,
      status: 'successful',
      allow_simultaneous: t.allowSimultaneous,
      ask_variables_on_launch: t.askVariables,
      ask_labels_on_launch: t.askLabels,
      ask_limit_on_launch: t.askLimit,
      ask_inventory_on_launch: t.askInventory,
      ask_tags_on_launch: false,
      ask_skip_tags_on_launch: false,
      ask_job_type_on_launch: false,
      ask_verbosity_on_launch: false,
      ask_credential_on_launch: false,
      ask_diff_mode_on_launch: false,
      ask_scm_branch_on_launch: false,
      ask_execution_environment_on_launch: false,
      ask_forks_on_launch: false,
      ask_job_slice_count_on_launch: false,
      ask_timeout_on_launch: false,
      ask_instance_groups_on_launch: false,
      survey_enabled: false,
    };
  }

  private serializeLabel(l: Label): Record<string, unknown> {
    const orgName = [...this.organizations.entries()].find(([, id]) => id === l.organization)?.[0] ?? '';
    return {
      id: l.id,
      type: 'label',
      url: `${API}/labels/${l.id}/`,
      related: { organization: `${API}/organizations/${l.organization}/` },
      summary_fields: { organization: { id: l.organization, name: orgName, description: '' } },
      name: l.name,
      organization: l.organization,
    };
  }

  private serializeJob(job: Job): Record<string, unknown> {
    const r = job.record;
    const terminal = (TERMINAL_STATUSES as readonly string[]).includes(r.status);
    const elapsed = job.started ? ((job.finished ?? new Date()).getTime() - job.started.getTime()) / 1000 : 0;
    return {
      id: r.jobId,
      type: 'job',
      url: `${API}/jobs/${r.jobId}/`,
      related: {
        job_template: `${API}/job_templates/${r.templateId}/`,
        unified_job_template: `${API}/job_templates/${r.templateId}/`,
        labels: `${API}/jobs/${r.jobId}/labels/`,
        stdout: `${API}/jobs/${r.jobId}/stdout/`,
        notifications: `${API}/jobs/${r.jobId}/notifications/`,
        cancel: `${API}/jobs/${r.jobId}/cancel/`,
      },
      summary_fields: {
        organization: { id: this.organization(r.organization), name: r.organization },
        job_template: { id: r.templateId, name: r.templateName, description: '' },
        unified_job_template: { id: r.templateId, name: r.templateName, unified_job_type: 'job' },
        labels: { count: r.labelIds.length, results: r.labelIds.map((id) => ({ id, name: this.labels.get(id)?.name ?? '' })) },
        created_by: { id: 1, username: 'admin' },
      },
      created: isoZ(job.created),
      modified: isoZ(job.finished ?? job.started ?? job.created),
      name: r.templateName,
      description: '',
      job_type: 'run',
      inventory: 1,
      project: 1,
      playbook: this.templates.get(r.templateId)?.playbook ?? '',
      limit: r.limit,
      extra_vars: pyJsonDumps(r.extraVars),
      launch_type: 'manual',
      status: r.status,
      failed: r.status === 'failed' || r.status === 'error',
      started: isoZ(job.started),
      finished: isoZ(job.finished),
      canceled_on: r.status === 'canceled' ? isoZ(job.finished) : null,
      elapsed: Number(elapsed.toFixed(3)),
      job_explanation: job.explanation,
      result_traceback: job.traceback,
      launched_by: { id: 1, name: 'admin', type: 'user', url: `${API}/users/1/` },
      job_template: r.templateId,
      unified_job_template: r.templateId,
      artifacts: terminal ? (r.fate.artifacts ?? {}) : {},
      host_status_counts: terminal ? countHosts(job.hosts) : {},
    };
  }
}

function countHosts(hosts: Record<string, HostSummary>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const h of Object.values(hosts)) {
    const key = h.dark ? 'dark' : h.failed ? 'failures' : h.changed ? 'changed' : 'ok';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Convenience: a started double. */
export async function startAwxDouble(options: AwxDoubleOptions = {}): Promise<AwxDouble> {
  const awx = new AwxDouble(options);
  await awx.start();
  return awx;
}
