"""HTTP routes for jobs and schedules: what is queued, running and failed; queue one; set how often."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request

from app.auth.ratelimit import identity, parse_limit
from app.dependencies import BudgetDep, ContainerDep, JobQueueDep
from app.errors import RateLimitedError
from app.jobs.backfill import BackfillRepository
from app.jobs.schemas import JobRequest, ScheduleRequest

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.get("/jobs", summary="Queued and running jobs, the latest runs (result or error) and backfills")
async def list_jobs(q: JobQueueDep, status: str | None = Query(None, max_length=20),
                    job: str | None = Query(None, max_length=40),
                    limit: int = Query(30, ge=1, le=500)) -> dict[str, Any]:
    return {"jobs": await q.jobs(status=status, job=job, limit=limit), "runs": await q.runs(job=job, limit=limit),
            "backfills": [{k: v for k, v in b.items() if k != "partition_status"}
                          for b in await BackfillRepository(q.pool).runs(5)]}


@router.post("/jobs", status_code=202, summary="Queue a job now (not twice while a copy waits)")
async def queue_job(body: JobRequest, request: Request, c: ContainerDep, budget: BudgetDep,
                    q: JobQueueDep) -> dict[str, Any]:
    who = identity(request.scope)
    limit = parse_limit(c.settings.server.job_deferrals_per_key)
    wait = await budget.retry_after(limit, "deferrals", who)
    if wait is not None:
        refused = RateLimitedError.worded("jobs_rate_limited", most=c.settings.server.job_deferrals_per_key,
                                          wait=wait)
        refused.retry_after = wait
        raise refused
    await budget.spend(limit, "deferrals", who)
    job_id = await q.defer(body.job, body.args)
    return {"job": body.job, "args": body.args, "job_id": job_id, "queued": job_id is not None}


@router.get("/jobs/{job_id}", summary="One job: status and every run")
async def show_job(q: JobQueueDep, job_id: int = Path(..., ge=1, le=2**62)) -> dict[str, Any]:
    return await q.run_of(job_id)


@router.get("/schedules", summary="Every schedule: job, cron (UTC), next and last run")
async def list_schedules(q: JobQueueDep) -> dict[str, Any]:
    return {"schedules": await q.schedules.all()}


NameParam = Path(..., min_length=1, max_length=63)


@router.put("/schedules/{name}", summary="Create or replace a schedule (admin)")
async def put_schedule(body: ScheduleRequest, q: JobQueueDep, name: str = NameParam) -> dict[str, Any]:
    return await q.schedules.put(name, body.job, body.cron, body.args, enabled=body.enabled)


@router.delete("/schedules/{name}", summary="Delete a schedule (admin)")
async def delete_schedule(q: JobQueueDep, name: str = NameParam) -> dict[str, Any]:
    await q.schedules.delete(name)
    return {"name": name, "deleted": True}
