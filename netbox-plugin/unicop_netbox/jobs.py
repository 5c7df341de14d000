"""Background jobs (NetBox's JobRunner, run by `netbox rqworker`): the expiry of access grants. Each grant schedules
one run at its `expires_at`; a system job sweeps every minute, so grants that expired while the worker was down are
handled when it starts (rqworker schedules system jobs at start-up). Both only call grants.expire_grants, which is
idempotent."""

from netbox.jobs import JobRunner

from .grants import expire_grants

__all__ = ('GrantExpiryJob', 'GrantExpirySweep')


class GrantExpiryJob(JobRunner):
    class Meta:
        name = 'UNICOP access grant expiry'

    def run(self, *args, **kwargs):
        ended = expire_grants()
        self.logger.info(f'access grants ended: {ended or "none"}')


try:  # system jobs exist in NetBox 4.4+; the decorator registers the runner with an interval in minutes
    from netbox.jobs import system_job
except ImportError:  # pragma: no cover - older NetBox: the per-grant jobs alone
    GrantExpirySweep = None
else:

    @system_job(interval=1)
    class GrantExpirySweep(GrantExpiryJob):
        class Meta:
            name = 'UNICOP access grant expiry sweep'
