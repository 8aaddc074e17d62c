"""The rollout engine: deploy, update, traffic, rollback, delete and wait — one copy in the
core for the CLI, the Airflow provider and Pulumi.

Modules (import from them directly; this package imports nothing heavy):

- ``constants`` — kinds/plurals (``RESOURCES``, ``resource_for``), labels, annotations,
  ``FIELD_MANAGER = "inference-stacks"``, names (``token_secret_name``, ``history_name``).
- ``inputs`` — ``resolve_spec_input(value, name=None, kind=None)``: spec object, dict,
  path or YAML text → one validated spec (``resolve_spec_inputs`` → all documents).
- ``kube`` — the client protocol: ``KubeClient`` / ``AsyncKubeClient`` (get, list, apply
  (SSA: field_manager, force, dry_run), delete (propagation, uid/resourceVersion
  preconditions), watch), ``ObjectKey``, ``WatchEvent``.
- ``client`` — ``KubernetesClient`` (sync, official ``kubernetes`` library; timeouts,
  urllib3 retries off, bounded tenacity retries; ``KubernetesClient.from_kubeconfig(path,
  context=...)`` or ``KubernetesClient(api_client)``), ``WatchStream`` (``close()`` from any
  thread) and ``disable_library_retries(api_client)``.
- ``retry`` — ``RetryPolicy``, ``FieldConflict`` (409 naming managers and fields),
  ``status_error``/``connection_error``/``conflict_error`` for other client implementations.
- ``history`` — ``History`` (ConfigMap ``<name>-history``), ``Entry``, ``Status``.
- ``plan`` — ``Plan``, ``Apply``, ``Delete``, ``WaitTarget``.
- ``planners`` (pure) — ``plan_deploy`` (deploy or ``action="update"``, ``candidate_tag``),
  ``plan_record`` (mark good/failed), ``plan_rollback``, ``rollback_target``,
  ``plan_traffic`` (split/promote), ``plan_delete``, ``serving_revision``.
- ``wait`` — pure steps ``WaitProgress.start``, ``step``, ``assess``, ``interest``,
  ``timeout_error``, ``failure_error``; reads ``read_snapshot``/``aread_snapshot``; the sync
  watch-based ``wait_ready``.
- ``engine`` — ``Engine`` (sync orchestration used by the CLI), ``read_state`` (history,
  serving object, Knative revisions, LWS pods), ``read_history``, ``execute``,
  ``stale_pod_hashes``/``settle_wait`` (LWS: old pods do not fail a new template),
  ``wait_gone``, ``new_rollout_id``, ``utc_now``.

A pipeline step (e.g. an Airflow task with rollout id ``f"{dag_id}/{run_id}/{task_id}"``)::

    state = read_state(client, name, namespace)
    plan = plan_deploy(spec, profile=profile, live=state.live, history=state.history,
                       rollout_id=rid, now=utc_now(), action="update")
    stale = stale_pod_hashes(client, key, state.live)
    done = execute(client, plan)                 # history entry first, then SSA writes
    target = settle_wait(done.wait, state.live, stale)  # expected_generation filled in
    # ... wait on target (WaitProgress.start / read_snapshot / step, or defer and resume) ...
    execute(client, plan_record(read_history(client, name, namespace), rollout_id=rid,
                                status=Status.GOOD, knative_revision=readiness.revision))
    # on failure: record FAILED, then
    state = read_state(client, name, namespace)
    execute(client, plan_rollback(history=state.history, live=state.live, rollout_id=rid,
                                  now=utc_now(), revisions=state.revisions, pods=state.pods))

Retries with the same rollout id re-plan the same writes and the same rollback target.
"""

from __future__ import annotations
