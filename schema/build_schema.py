"""Writes deploy.schema.json, the manifest's contract. Edit this file, then run
`python schema/build_schema.py` (a test fails while the JSON and this script disagree)."""

import json
from pathlib import Path

ID = "https://kedro-gitops.dev/schema/deploy/v1.json"
name_pat = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
INT32_MAX = 2**31 - 1  # Airflow's database stores counts and weights as 32-bit integers
MAX_RETRIES = 1000
MAX_DAYS = 365  # the longest duration: any start date plus it stays a valid date
TAG_MAX = 100  # Airflow's limit on the length of a DAG tag
duration = {
    "type": "string",
    "pattern": r"^(?=[0-9])([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
    "description": f"A duration such as `30s`, `5m`, `1h30m` or `2d`, at most {MAX_DAYS} days.",
}
env_map = {
    "type": "object",
    "propertyNames": {
        "minLength": 1,
        "pattern": r"^[^=\x00]+$",
        "description": "An environment variable name: not empty, no `=` or NUL character.",
    },
    "additionalProperties": {
        "type": "string",
        "pattern": r"^[^\x00]*$",
        "description": "An environment variable value: no NUL character.",
    },
}
str_map = {"type": "object", "additionalProperties": {"type": "string"}}
settings = {
    "owner": {"type": "string", "minLength": 1, "description": "Airflow `owner` of every task."},
    "retries": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_RETRIES,
        "description": f"Task retries, from 0 to {MAX_RETRIES}.",
    },
    "retry_delay": {**duration, "description": "Delay between retries, e.g. `5m`."},
    "start_date": {
        "type": "string",
        "pattern": r"^(19[7-9][0-9]|2[0-9]{3})-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$",
        "description": "`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, in `timezone`, with a year from 1970 to 2999.",
    },
    "timezone": {
        "type": "string",
        "minLength": 1,
        "description": "IANA time zone, e.g. `UTC` or `Europe/Paris`.",
    },
    "catchup": {"type": "boolean"},
    "max_active_runs": {
        "type": "integer",
        "minimum": 1,
        "maximum": INT32_MAX,
        "description": f"Runs of the DAG at a time, from 1 to {INT32_MAX} (1 with `@continuous`).",
    },
    "tags": {
        "type": "array",
        "items": {
            "type": "string",
            "minLength": 1,
            "maxLength": TAG_MAX,
            "description": f"A tag of at most {TAG_MAX} characters (Airflow's limit).",
        },
        "uniqueItems": True,
        "description": "Airflow DAG tags (added to every DAG).",
    },
    "executor": {"type": "string", "description": "Name of an entry of `executors`."},
    "assets": {
        "type": "boolean",
        "default": True,
        "description": "Declare the persisted datasets the DAG writes and reads as Airflow Assets (outlets and inlets). Airflow's first Asset in a parse loads its providers' URI handlers (about 0.1-0.7 s per parse, see bench/results.md): `false` leaves them out of DAGs no other DAG waits for.",
    },
    "params": {
        "type": "array",
        "uniqueItems": True,
        "items": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$",
            "description": "A Kedro parameter by its dotted path, e.g. `model_options.test_size`.",
        },
        "description": "Kedro parameters shown as Airflow Params on the trigger form, typed and defaulting to the environment's values; a run's values reach Kedro as runtime parameters. A DAG's list adds to the defaults'.",
    },
    "notifications": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            key: {
                "type": "string",
                "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
                "description": f"`package.module:name`, a callable or notifier called with the context {when}; imported only when called.",
            }
            for key, when in (
                ("on_failure", "when a DAG run fails"),
                ("on_success", "when a DAG run succeeds"),
                ("on_retry", "when a task is retried"),
            )
        }
        | {
            "on_deadline_missed": {
                "type": "string",
                "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$",
                "description": "`package.module:function`, called with the context when a run misses its `deadline` (an Airflow SyncCallback: a top-level function, which Airflow imports when it parses the DAG).",
            }
        },
        "description": "Callbacks by dotted import path; a DAG's keys replace the defaults'.",
    },
    "deadline": {
        "type": "object",
        "additionalProperties": False,
        "required": ["after"],
        "properties": {
            "after": {**duration, "description": "How long a run may take, e.g. `2h`."},
            "since": {
                "enum": ["queued", "logical_date"],
                "default": "queued",
                "description": "From when: the run being queued (default), or its logical date.",
            },
        },
        "description": "An Airflow deadline alert (3.1+): `notifications.on_deadline_missed` is called when a run has not finished `after` this long since it was queued.",
    },
}


def _k8s(required: list[str], **properties: object) -> dict[str, object]:
    """An object of the Kubernetes API: only its own keys, the required ones present."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _list(item: object) -> dict[str, object]:
    return {"type": "array", "items": item}


_text = {"type": "string", "minLength": 1}
_texts = _list({"type": "string"})
_weight = {"type": "integer", "minimum": 1, "maximum": 100}
# The pod spec's affinity and tolerations, as the Kubernetes client builds them: a missing
# required key or a wrong type would fail when Airflow imports the DAG file.
K8S_DEFS: dict[str, object] = {
    "k8s_toleration": _k8s(
        [],
        key={"type": "string"},
        operator={"enum": ["Exists", "Equal"]},
        value={"type": "string"},
        effect={"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
        tolerationSeconds={"type": "integer"},
    ),
    "k8s_requirement": _k8s(
        ["key", "operator"],
        key=_text,
        operator={"enum": ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]},
        values=_texts,
    ),
    "k8s_node_term": _k8s(
        [],
        matchExpressions=_list(_ref("k8s_requirement")),
        matchFields=_list(_ref("k8s_requirement")),
    ),
    "k8s_label_selector": _k8s(
        [],
        matchExpressions=_list(_ref("k8s_requirement")),
        matchLabels={"type": "object", "additionalProperties": {"type": "string"}},
    ),
    "k8s_pod_term": _k8s(
        ["topologyKey"],
        topologyKey=_text,
        labelSelector=_ref("k8s_label_selector"),
        namespaceSelector=_ref("k8s_label_selector"),
        namespaces=_texts,
        matchLabelKeys=_texts,
        mismatchLabelKeys=_texts,
    ),
    "k8s_pod_affinity": _k8s(
        [],
        requiredDuringSchedulingIgnoredDuringExecution=_list(_ref("k8s_pod_term")),
        preferredDuringSchedulingIgnoredDuringExecution=_list(
            _k8s(
                ["weight", "podAffinityTerm"], weight=_weight, podAffinityTerm=_ref("k8s_pod_term")
            )
        ),
    ),
    "k8s_affinity": _k8s(
        [],
        nodeAffinity=_k8s(
            [],
            requiredDuringSchedulingIgnoredDuringExecution=_k8s(
                ["nodeSelectorTerms"],
                nodeSelectorTerms={**_list(_ref("k8s_node_term")), "minItems": 1},
            ),
            preferredDuringSchedulingIgnoredDuringExecution=_list(
                _k8s(["weight", "preference"], weight=_weight, preference=_ref("k8s_node_term"))
            ),
        ),
        podAffinity=_ref("k8s_pod_affinity"),
        podAntiAffinity=_ref("k8s_pod_affinity"),
    ),
}
EXECUTOR_TYPES = ["subprocess", "bash", "python", "venv", "kubernetes", "gke", "docker"]
warm_start = {
    "type": "boolean",
    "default": True,
    "description": "Fork each task's interpreter from a server process that has imported Kedro, the project's pipelines and dataset types once (it stops after 5 idle minutes, or when a project file it imported changes); false starts a new interpreter per task.",
}
runtime_options = {
    "runtime": {
        "enum": ["checkout", "package"],
        "default": "checkout",
        "description": "Where the project is on the worker: `checkout`, beside the DAG file in the delivered repository (git-sync, a GitDagBundle, a local dags folder); `package`, installed as a wheel (`kedro package`) with its conf in `conf_source`.",
    },
    "project_dir": {
        "type": "string",
        "minLength": 1,
        "description": "checkout: the project directory on the worker; a relative path is relative to the DAG file. Default: the project's path as seen from `output`.",
    },
    "package": {
        "type": "string",
        "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
        "description": "package: the installed package (`python -m <package>`); default: the project's package name.",
    },
    "conf_source": {
        "type": "string",
        "minLength": 1,
        "description": "package: the project's conf on the worker, a folder or an archive (`conf-<package>.tar.gz`).",
    },
    "workdir": {
        "type": "string",
        "pattern": "^/",
        "description": "package: the tasks' working directory; default: a fresh temporary directory per task.",
    },
}
runtime_rules = {
    "if": {"properties": {"runtime": {"const": "package"}}, "required": ["runtime"]},
    "then": {
        "required": ["conf_source"],
        "not": {"required": ["project_dir"]},
    },
    "else": {
        "allOf": [{"not": {"required": [k]}} for k in ("package", "conf_source", "workdir")],
    },
}
rule_common = {"by": {"enum": ["memory", "namespace", "tag_prefix", "group"]}}


def _task_name(*placeholders: str) -> dict[str, object]:
    """A rule's `name`: a task id template of text and the rule's placeholders."""
    names = "|".join(placeholders)
    shown = ", ".join(f"`{{{p}}}`" for p in placeholders)
    return {
        "type": "string",
        "minLength": 1,
        "pattern": rf"^([^{{}}]|\{{({names})\}})+$",
        "description": f"The task id of each group the rule makes, from text and {shown}, made "
        "Airflow-safe. `{first}` is the group's first node: of its nodes that read nothing "
        "another of its nodes writes, the first by name.",
    }


schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": ID,
    "title": "kedro-gitops deployment manifest (pipelines.deploy.yaml)",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "project", "environments", "dags"],
    "properties": {
        "version": {"type": "integer", "const": 1, "description": "Manifest format version."},
        "project": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Kedro project directory, relative to the manifest.",
                },
                "python": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Interpreter that has the project's dependencies, used to read the project (relative paths are relative to the manifest). Default: the interpreter running kedro-gitops.",
                },
            },
        },
        "output": {
            "type": "string",
            "minLength": 1,
            "default": "dags",
            "description": "Directory the DAG files are written to, relative to the manifest.",
        },
        "defaults": {"type": "object", "additionalProperties": False, "properties": settings},
        "environments": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": name_pat},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kedro_env"],
                "properties": {
                    "kedro_env": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Kedro `--env`.",
                    },
                    "conf_source": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Kedro `--conf-source`, relative to the project.",
                    },
                    "env": {**env_map, "description": "Environment variables set for every task."},
                    "executor": {
                        "type": "string",
                        "description": "Executor for this environment; a DAG's own `executor` takes precedence.",
                    },
                },
            },
        },
        "executors": {
            "type": "object",
            "propertyNames": {"pattern": name_pat},
            "additionalProperties": {"$ref": "#/$defs/executor"},
        },
        "tasks": {
            "type": "array",
            "items": {"$ref": "#/$defs/task_rule"},
            "description": "Task settings by node tag or name, for every DAG.",
        },
        "dags": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/dag"}},
    },
    "$defs": {
        **K8S_DEFS,
        "executor": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": EXECUTOR_TYPES}},
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": t}}},
                    "then": {"$ref": f"#/$defs/executor_{t}"},
                }
                for t in EXECUTOR_TYPES
            ],
        },
        "interpreter": {
            "description": "The interpreter that runs Kedro on the worker: an absolute path, a path relative to the project directory (a committed file: not in a git-ignored folder), or `{env: NAME}`, a variable the workers set. Default: the interpreter running the Airflow task.",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["env"],
                    "properties": {
                        "env": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}
                    },
                },
            ],
        },
        "executor_subprocess": {
            "type": "object",
            "additionalProperties": False,
            "description": "`kedro run --nodes ...` in a subprocess of the Airflow task (a PythonOperator that relays Kedro's log records at their own level).",
            "properties": {
                "type": {"enum": ["subprocess", "bash"]},
                **runtime_options,
                "python": {"$ref": "#/$defs/interpreter"},
                "env": {**env_map, "description": "Environment variables for every task."},
                "warm_start": warm_start,
            },
            **runtime_rules,
        },
        "executor_bash": {"$ref": "#/$defs/executor_subprocess"},
        "executor_python": {
            "type": "object",
            "additionalProperties": False,
            "description": "PythonOperator that imports Kedro when the task runs and runs a KedroSession in the worker's own interpreter.",
            "properties": {"type": {"const": "python"}, **runtime_options},
            **runtime_rules,
        },
        "executor_venv": {
            "type": "object",
            "additionalProperties": False,
            "required": ["python"],
            "description": "A `subprocess` executor whose interpreter is required: the project's own virtual environment, so Airflow and the project keep separate dependencies.",
            "properties": {
                "type": {"const": "venv"},
                **runtime_options,
                "python": {"$ref": "#/$defs/interpreter"},
                "env": {**env_map, "description": "Environment variables for every task."},
                "warm_start": warm_start,
            },
            **runtime_rules,
        },
        "executor_gke": {
            "type": "object",
            "additionalProperties": False,
            "required": ["image", "project_id", "location", "cluster_name"],
            "description": "GKEStartPodOperator (Google Cloud Composer): a `kubernetes` pod on a GKE cluster.",
            "properties": {  # and every property of `kubernetes` (added below)
                "type": {"const": "gke"},
                "project_id": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Google Cloud project of the cluster.",
                },
                "location": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The cluster's region or zone.",
                },
                "cluster_name": {"type": "string", "minLength": 1},
                "use_internal_ip": {"type": "boolean"},
                "gcp_conn_id": {"type": "string", "minLength": 1},
            },
        },
        "executor_kubernetes": {
            "type": "object",
            "additionalProperties": False,
            "required": ["image"],
            "description": "KubernetesPodOperator: each task is a pod running `kedro run --nodes ...` in the project's image (whose working directory is the project).",
            "properties": {
                "type": {"const": "kubernetes"},
                "image": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The project's image; pin a digest (`name@sha256:...`).",
                },
                "python": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Interpreter in the image (default `python`).",
                },
                "namespace": {"type": "string", "minLength": 1},
                "service_account": {"type": "string", "minLength": 1},
                "image_pull_policy": {"enum": ["Always", "IfNotPresent", "Never"]},
                "image_pull_secrets": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                },
                "env": {**env_map, "description": "Environment variables of the container."},
                "secrets": {"type": "array", "items": {"$ref": "#/$defs/k8s_secret"}},
                "config_maps": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "ConfigMaps whose keys become environment variables.",
                },
                "node_selector": str_map,
                "tolerations": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/k8s_toleration"},
                    "description": "Kubernetes tolerations, as in a pod spec.",
                },
                "affinity": {
                    "$ref": "#/$defs/k8s_affinity",
                    "description": "Kubernetes affinity, as in a pod spec (camelCase keys).",
                },
                "labels": str_map,
                "annotations": str_map,
                "on_finish_action": {"enum": ["delete_pod", "delete_succeeded_pod", "keep_pod"]},
                "startup_timeout": {
                    **duration,
                    "description": "How long a pod may take to start, e.g. `5m`.",
                },
                "resources": {"$ref": "#/$defs/resources"},
            },
        },
        "k8s_secret": {
            "type": "object",
            "additionalProperties": False,
            "required": ["secret"],
            "oneOf": [{"required": ["env", "key"]}, {"required": ["mount"]}],
            "properties": {
                "secret": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Kubernetes Secret name.",
                },
                "key": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Key of the secret, for `env`.",
                },
                "env": {
                    **env_map["propertyNames"],
                    "type": "string",
                    "description": "Expose `key` as this environment variable (a name without `=`).",
                },
                "mount": {
                    "type": "string",
                    "pattern": "^/",
                    "description": "Mount the whole secret at this path.",
                },
            },
        },
        "executor_docker": {
            "type": "object",
            "additionalProperties": False,
            "required": ["image"],
            "description": "DockerOperator: each task is a container running `kedro run --nodes ...` in the project's image.",
            "properties": {
                "type": {"const": "docker"},
                "image": {"type": "string", "minLength": 1},
                "python": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Interpreter in the image (default `python`).",
                },
                "env": {**env_map, "description": "Environment variables of the container."},
                "mounts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["source", "target"],
                        "properties": {
                            "source": {"type": "string"},
                            "target": {"type": "string", "pattern": "^/"},
                            "type": {"enum": ["bind", "volume", "tmpfs"]},
                            "read_only": {"type": "boolean"},
                        },
                    },
                },
                "network_mode": {"type": "string", "minLength": 1},
                "auto_remove": {"enum": ["never", "success", "force"]},
                "docker_url": {"type": "string", "minLength": 1},
                "resources": {"$ref": "#/$defs/resources"},
            },
        },
        "quantity": {
            "type": ["string", "number"],
            "pattern": "^(?=.*[1-9])[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$",
            "exclusiveMinimum": 0,
            "description": "A Kubernetes quantity greater than zero: `500m`, `2`, `0.5`, `512Mi`, `16Gi`.",
        },
        "preset": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "cpu": {"$ref": "#/$defs/quantity", "description": "CPU request."},
                "memory": {"$ref": "#/$defs/quantity", "description": "Memory request."},
                "gpu": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "nvidia.com/gpu (a limit).",
                },
                "limits": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "cpu": {"$ref": "#/$defs/quantity"},
                        "memory": {"$ref": "#/$defs/quantity"},
                    },
                },
            },
        },
        "resources": {
            "type": "object",
            "additionalProperties": False,
            "description": "Resources per task: `default`, or the preset of the node tags in `by_tag`.",
            "properties": {
                "default": {"$ref": "#/$defs/preset"},
                "by_tag": {"type": "object", "additionalProperties": {"$ref": "#/$defs/preset"}},
                "merge": {
                    "enum": ["error", "largest"],
                    "default": "error",
                    "description": "When one task's nodes ask for different presets: an error, or the largest of each resource.",
                },
            },
        },
        "task_rule": {
            "type": "object",
            "additionalProperties": False,
            "description": "Airflow task settings for the tasks holding a node with one of `tags` or a name matching `nodes` (every task when both are absent). For each setting the first matching rule wins.",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "nodes": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "Node names or globs.",
                },
                "retries": settings["retries"],
                "retry_delay": settings["retry_delay"],
                "execution_timeout": {
                    **duration,
                    "description": f"How long a task may run, e.g. `2h`; at most {MAX_DAYS} days.",
                },
                "pool": {"type": "string", "minLength": 1, "maxLength": 256},
                "queue": {"type": "string", "minLength": 1, "maxLength": 256},
                "priority_weight": {
                    "type": "integer",
                    "minimum": -INT32_MAX - 1,
                    "maximum": INT32_MAX,
                    "description": "Airflow priority weight, a 32-bit integer.",
                },
                "trigger_rule": {
                    "enum": [
                        "all_success",
                        "all_failed",
                        "all_done",
                        "all_skipped",
                        "one_success",
                        "one_failed",
                        "one_done",
                        "none_failed",
                        "none_failed_min_one_success",
                        "none_skipped",
                        "always",
                        "all_done_setup_success",
                        "all_done_min_one_success",
                    ]
                },
            },
        },
        "schedule": {
            "type": ["string", "null", "object"],
            "description": f"A cron expression of 5 fields (minute hour day month weekday), a preset (`@daily`), a duration (`6h`, at most {MAX_DAYS} days), null for manual runs only, or a schedule on data: `{{after: [dag], datasets: [dataset], cron: ...}}`.",
            "additionalProperties": False,
            "anyOf": [
                {"type": ["string", "null"]},
                {"required": ["after"]},
                {"required": ["datasets"]},
            ],
            "properties": {
                "after": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1},
                    "description": "DAG ids, or pipelines deployed in the same environment: the DAG runs once each of them has updated its final outputs (the persisted datasets it writes and does not read itself).",
                },
                "datasets": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "minLength": 1},
                    "description": "Persisted catalog datasets: the DAG runs once the Asset of each has been updated.",
                },
                "cron": {
                    "type": "string",
                    "description": "Also run on this cron expression, preset or duration (Airflow's AssetOrTimeSchedule).",
                },
            },
        },
        "dag": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pipeline"],
            "properties": {
                "pipeline": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Kedro pipeline name.",
                },
                "environments": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string"},
                    "description": "Names from `environments`; default: all.",
                },
                "dag_id": {
                    "type": "string",
                    "minLength": 1,
                    "description": "DAG id; may use `{pipeline}` and `{environment}`. Default `{pipeline}_{environment}`. Once formatted: at most 250 ASCII letters, digits, `_`, `.` or `-`.",
                },
                "description": {"type": "string"},
                "schedule": {"$ref": "#/$defs/schedule"},
                "tasks": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/task_rule"},
                    "description": "Task settings for this DAG, tried before the top-level `tasks`.",
                },
                "setup": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["pipeline", "outputs"],
                    "properties": {
                        "pipeline": {
                            "type": "string",
                            "minLength": 1,
                            "description": "A Kedro pipeline run once, as an Airflow setup task, before every task of the DAG (subprocess, venv and python executors).",
                        },
                        "outputs": {
                            "type": "array",
                            "minItems": 1,
                            "uniqueItems": True,
                            "items": {"type": "string", "minLength": 1},
                            "description": "Outputs of the setup pipeline (JSON data, e.g. an MLflow run id) that reach every later task as Kedro runtime parameters: `params:<output>`.",
                        },
                    },
                    "description": "A setup step: e.g. a pipeline that starts an MLflow run and hands its id to every task.",
                },
                "groups": {
                    "type": "array",
                    "items": {"$ref": "#/$defs/rule"},
                    "description": "Rules grouping nodes into tasks; the first rule that matches a node wins, then a `memory` rule fuses the tasks an in-memory dataset joins.",
                },
                **settings,
            },
        },
        "rule": {
            "type": "object",
            "required": ["by"],
            "properties": rule_common,
            "allOf": [
                {
                    "if": {"properties": {"by": {"const": "memory"}}},
                    "then": {
                        "additionalProperties": False,
                        "properties": {**rule_common, "name": _task_name("first")},
                        "description": "One task per set of nodes that datasets the environment's catalog does not persist (in-memory datasets) join: the nodes no earlier rule took, and then the tasks any rule made that such a dataset would join, fused. Named `{first}_group` unless `name` says otherwise.",
                    },
                },
                {
                    "if": {"properties": {"by": {"const": "namespace"}}},
                    "then": {
                        "additionalProperties": False,
                        "properties": {
                            **rule_common,
                            "depth": {"type": "integer", "minimum": 1, "default": 1},
                            "name": _task_name("namespace", "first"),
                        },
                        "description": "One task per namespace, cut at `depth` levels, named `{namespace}` unless `name` says otherwise.",
                    },
                },
                {
                    "if": {"properties": {"by": {"const": "tag_prefix"}}},
                    "then": {
                        "additionalProperties": False,
                        "required": ["prefix"],
                        "properties": {
                            **rule_common,
                            "prefix": {"type": "string", "minLength": 1},
                            "name": _task_name("tag", "first"),
                        },
                        "description": "Nodes tagged `<prefix><name>` share the task `<name>` (`{tag}`) unless `name` says otherwise.",
                    },
                },
                {
                    "if": {"properties": {"by": {"const": "group"}}},
                    "then": {
                        "additionalProperties": False,
                        "required": ["name"],
                        "anyOf": [{"required": ["nodes"]}, {"required": ["tags"]}],
                        "properties": {
                            **rule_common,
                            "name": {"type": "string", "minLength": 1},
                            "nodes": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "string"},
                                "description": "Node names or globs.",
                            },
                            "tags": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        },
                        "description": "An explicit task of the named nodes and of the nodes with any of the tags.",
                    },
                },
            ],
        },
    },
}
schema["$defs"]["executor_gke"]["properties"] = {
    **schema["$defs"]["executor_kubernetes"]["properties"],
    **schema["$defs"]["executor_gke"]["properties"],
}
schema["$defs"]["dag"]["properties"]["executor"] = {
    "type": ["string", "object"],
    "additionalProperties": {"type": "string"},
    "description": "Executor name, or a map from environment name to executor name.",
}


def render() -> str:
    return json.dumps(schema, indent=2) + "\n"


if __name__ == "__main__":
    (Path(__file__).parent / "deploy.schema.json").write_text(render(), encoding="utf-8")
