"""Plots bench/results/*.json into docs/bench-*.png (run by bench/plot, which provides matplotlib).

Each plot shows medians with min-max whiskers; a result file that is missing or unmeasured is skipped.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RESULTS = os.path.join(ROOT, "bench", "results")
DOCS = os.path.join(ROOT, "docs")


def load(name):
    path = os.path.join(RESULTS, f"{name}.json")
    if not os.path.exists(path):
        print(f"plot: no {path}; skipped", file=sys.stderr)
        return None
    with open(path) as f:
        return json.load(f)


def save(fig, name):
    """Writes docs/<name> and says so."""
    fig.tight_layout()
    out = os.path.join(DOCS, name)
    fig.savefig(out, dpi=110)
    print(f"plot: wrote {out}", file=sys.stderr)


def whiskers(st):
    return [[st["median"] - st["min"]], [st["max"] - st["median"]]]


def plot_eval(data):
    stacks = list(data["results"].keys())
    variants = data["params"]["variants"]
    names = variants + ["helm template"]
    fig, axes = plt.subplots(1, len(stacks), figsize=(6 * len(stacks), 4.5), sharey=True, squeeze=False)
    for ax, stack in zip(axes[0], stacks):
        res = data["results"][stack]
        stats = [res["variants"][v]["wallMs"] for v in variants] + [res["helmTemplate"]["sumMs"]]
        for i, (name, st) in enumerate(zip(names, stats)):
            color = "tab:gray" if name == "helm template" else ("tab:red" if name == "typecheck" else "tab:blue")
            ax.bar(i, st["median"] / 1000, yerr=[[x / 1000 for x in w] for w in whiskers(st)], color=color, capsize=4)
            label = f"{st['median'] / 1000:.2f}s"
            if name != "helm template":
                label += f"\n{st['median'] / res['helmTemplate']['sumMs']['median']:.1f}x"
            ax.text(i, st["max"] / 1000 + 0.05, label, ha="center", va="bottom", fontsize=8)
        target = 5 * res["helmTemplate"]["sumMs"]["median"] / 1000
        ax.axhline(target, color="tab:green", linestyle="--", linewidth=1, label="target: 5x helm template")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{stack}: {len(res['apps'])} apps, {res['registrations']} registrations")
        ax.legend(fontsize=8, loc="upper right")
    axes[0][0].set_ylabel("seconds, fresh process per sample (median, min-max)")
    fig.suptitle("Program evaluation under Pulumi mocks vs helm template (one helm process per app, summed)")
    save(fig, "bench-eval.png")


def plot_scale(data):
    counts = data["params"]["counts"]
    series = data["params"]["variants"] + ["helm"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for v in series:
        meds, lo, hi = [], [], []
        for n in counts:
            r = data["results"][str(n)]
            st = r["helmTemplate"]["sumMs"] if v == "helm" else r["variants"][v]["wallMs"]
            meds.append(st["median"] / 1000)
            lo.append((st["median"] - st["min"]) / 1000)
            hi.append((st["max"] - st["median"]) / 1000)
        label = "helm template x N (summed)" if v == "helm" else v
        ax.errorbar(counts, meds, yerr=[lo, hi], marker="o", capsize=3, label=label, color="tab:gray" if v == "helm" else None)
    ax.set_xlabel("apps in the stack")
    ax.set_ylabel("seconds (median, min-max)")
    ax.set_xticks(counts)
    ax.set_title("Evaluation cost vs number of workloads (copies of dev's visits app)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "bench-scale.png")


def plot_rollout(data, qps):
    if data.get("status") != "measured":
        print("plot: rollout not measured; skipped", file=sys.stderr)
        return
    panels = []
    for policy in ("Parallel", "OrderedReady"):
        for retention in data["params"]["retentions"]:
            panels.append((f"{policy}, PVC retention {retention}", data, policy, retention))
    if qps and qps.get("status") == "measured":
        panels.append((f"Parallel, kube-controller-manager qps {qps['params']['kcmQps']}", qps, "Parallel", qps["params"]["retentions"][0]))
    methods = data["params"]["methods"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.5), sharey=True, squeeze=False)
    for ax, (title, d, policy, retention) in zip(axes[0], panels):
        rows = sorted((r for r in d["results"] if r["retention"] == retention and r["policy"] == policy), key=lambda r: r["replicas"])
        width = 0.8 / len(methods)
        for j, m in enumerate(methods):
            if m not in rows[0]["methods"]:
                continue
            xs = [i + (j - (len(methods) - 1) / 2) * width for i in range(len(rows))]
            sts = [r["methods"][m]["wallMs"] for r in rows]
            ax.bar(xs, [s["median"] / 1000 for s in sts], width,
                   yerr=[[(s["median"] - s["min"]) / 1000 for s in sts], [(s["max"] - s["median"]) / 1000 for s in sts]],
                   capsize=3, label=m)
        ax.set_yscale("log")
        ax.set_xticks(range(len(rows)), [f"{r['replicas']}" for r in rows])
        ax.set_xlabel("replicas")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(axis="y", alpha=0.3, which="both")
    axes[0][0].set_ylabel("seconds to Ready, log scale (median, min-max)")
    fig.suptitle("Rollout of one app on the kwok cluster: control-plane and tool overhead (pulumi up on the real engine)")
    save(fig, "bench-rollout.png")


def plot_dev_stack(data):
    if data.get("status") != "measured":
        print("plot: dev-stack not measured; skipped", file=sys.stderr)
        return
    methods = data["params"]["methods"]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    pulumi = [s for s in data["samples"] if s["method"] == "pulumi"]
    for i, m in enumerate(methods):
        st = data["upMs"][m]
        if m == "pulumi" and pulumi:
            # The up split into its phases (medians over the samples), stacked left to right.
            def med(k):
                xs = sorted(s["upPhases"][k] for s in pulumi)
                return xs[(len(xs) - 1) // 2] / 1000
            edges = [0, med("engineStartMs"), med("firstResourceMs"), med("lastOutputsMs"), med("summaryMs"), st["median"] / 1000]
            labels = ["CLI start", "provider start, first registration", "steps (creates and awaits)", "last step to summary", "CLI exit + Automation API reads"]
            colors = ["tab:purple", "tab:pink", "tab:blue", "tab:olive", "tab:gray"]
            for a, b, lab, c in zip(edges, edges[1:], labels, colors):
                ax.barh(i, max(b - a, 0), left=a, color=c, label=lab)
        else:
            ax.barh(i, st["median"] / 1000, color="tab:orange" if m == "helm" else "tab:green")
        ax.errorbar(st["median"] / 1000, i, xerr=[[(st["median"] - st["min"]) / 1000], [(st["max"] - st["median"]) / 1000]], color="black", capsize=3)
        ax.text(st["max"] / 1000 + 0.2, i, f"{st['median'] / 1000:.1f}s", va="center", fontsize=8)
    floor = data["upMs"].get("kubectl")
    if floor:
        ax.axvline(1.5 * floor["median"] / 1000, color="tab:green", linestyle="--", linewidth=1, label="target: 1.5x the floor")
    helm = data["upMs"].get("helm")
    if helm:
        ax.axvline(helm["median"] / 1000, color="tab:orange", linestyle=":", linewidth=1, label="target: 1.0x helm")
    ax.set_yticks(range(len(methods)), methods)
    ax.set_xlabel("seconds from an empty namespace to all Ready and the data-load Job complete (median, min-max)")
    ax.set_title(f"The whole {data['params']['stack']} stack on the kwok cluster: kubectl floor, helm install --wait, pulumi up", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    save(fig, "bench-dev-stack.png")


def plot_engine_scale(data):
    if data.get("status") != "measured":
        print("plot: engine-scale not measured; skipped", file=sys.stderr)
        return
    rows = data["results"]
    apps = [r["apps"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, label in (("upMs", "pulumi up to Ready"), ("previewMs", "no-change pulumi preview")):
        meds = [r[key]["median"] / 1000 for r in rows]
        ax.errorbar(apps, meds, yerr=[[(r[key]["median"] - r[key]["min"]) / 1000 for r in rows], [(r[key]["max"] - r[key]["median"]) / 1000 for r in rows]],
                    marker="o", capsize=3, label=label)
        if len(rows) >= 2:
            # The line through the two smallest counts: where the measured cost leaves it, growth is not linear.
            (a, ta), (b, tb) = (apps[0], meds[0]), (apps[1], meds[1])
            slope = (tb - ta) / (b - a)
            ax.plot(apps, [ta + slope * (n - a) for n in apps], linestyle=":", color="gray", linewidth=1)
    ax.set_xlabel("apps in the stack (copies of dev's visits, 1 replica each)")
    ax.set_ylabel("seconds (median, min-max)")
    ax.set_xticks(apps)
    ax.set_title("The real engine vs number of apps (dotted: linear through the first two counts)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "bench-engine-scale.png")


def main():
    os.makedirs(DOCS, exist_ok=True)
    for name, fn in (("eval", plot_eval), ("scale", plot_scale), ("dev-stack", plot_dev_stack), ("engine-scale", plot_engine_scale)):
        data = load(name)
        if data:
            fn(data)
    rollout = load("rollout")
    if rollout:
        plot_rollout(rollout, load("rollout-kcm-qps-200"))


if __name__ == "__main__":
    main()
