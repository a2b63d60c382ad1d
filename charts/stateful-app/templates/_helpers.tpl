{{/* Chart name, overridable. At most 52 characters: the StatefulSet controller appends an 11-character revision hash to a 63-character label. */}}
{{- define "stateful-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of every object (StatefulSet, Services, ConfigMaps, PDB). */}}
{{- define "stateful-app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "stateful-app.headless" -}}
{{- printf "%s-headless" (include "stateful-app.fullname" .) -}}
{{- end -}}

{{/* Selector labels: never change over a release's life (a StatefulSet's selector is immutable). */}}
{{- define "stateful-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stateful-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Recommended labels: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/ */}}
{{- define "stateful-app.labels" -}}
{{ include "stateful-app.selectorLabels" . }}
app.kubernetes.io/version: {{ regexReplaceAll "[^A-Za-z0-9._-]" (toString .Values.image.tag) "_" | trunc 63 | trimAll "_.-" | quote }}
app.kubernetes.io/component: stateful-app
app.kubernetes.io/part-of: stateful-apps
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "stateful-app.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString .Values.image.tag) -}}
{{- if .Values.image.digest -}}@{{ .Values.image.digest }}{{- end -}}
{{- end -}}

{{/* Security context of hook and test containers: the restricted Pod Security Standard. */}}
{{- define "stateful-app.hookSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "stateful-app.hookPodSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "stateful-app.hookResources" -}}
requests:
  cpu: 10m
  memory: 16Mi
  ephemeral-storage: 8Mi
limits:
  memory: 32Mi
  ephemeral-storage: 64Mi
{{- end -}}

{{/*
A readiness or liveness probe: the given Probe object when it names a handler (httpGet, tcpSocket, exec, grpc);
otherwise the default, an HTTP GET / on the app port every 10 s, with the given fields (e.g. periodSeconds)
on top. Args: (list <probe values> <port name>).
*/}}
{{- define "stateful-app.probe" -}}
{{- $probe := index . 0 | default dict -}}
{{- $default := dict "httpGet" (dict "path" "/" "port" (index . 1)) "periodSeconds" 10 "timeoutSeconds" 1 "failureThreshold" 3 -}}
{{- if or $probe.httpGet $probe.tcpSocket $probe.exec $probe.grpc -}}
{{- toYaml $probe -}}
{{- else -}}
{{- toYaml (merge (deepCopy $probe) $default) -}}
{{- end -}}
{{- end }}

{{/*
One peerEnv entry's value (lib/peers.ts peerEnvValue renders the same): `format` per member with {pod}, {host} and
{ordinal} replaced; self: this pod, through $(POD_NAME); all: ordinals 0..replicaCount-1; first: 0..count-1; joined
by `separator`. The namespace is $(POD_NAMESPACE), expanded by the kubelet. Call with (list $ entry).
*/}}
{{- define "stateful-app.peerValue" -}}
{{- $root := index . 0 -}}
{{- $e := index . 1 -}}
{{- $format := $e.format | default "{host}" -}}
{{- $suffix := printf ".%s.$(POD_NAMESPACE).svc.%s" (include "stateful-app.headless" $root) $root.Values.clusterDomain -}}
{{- if eq $e.members "self" -}}
{{- $format | replace "{host}" (printf "$(POD_NAME)%s" $suffix) | replace "{pod}" "$(POD_NAME)" | replace "{ordinal}" "" -}}
{{- else -}}
{{- $n := int $root.Values.replicaCount -}}
{{- if eq $e.members "first" }}{{ $n = int $e.count }}{{ end -}}
{{- $members := list -}}
{{- range $i := until $n -}}
{{- $pod := printf "%s-%d" (include "stateful-app.fullname" $root) $i -}}
{{- $members = append $members ($format | replace "{host}" (printf "%s%s" $pod $suffix) | replace "{pod}" $pod | replace "{ordinal}" (toString $i)) -}}
{{- end -}}
{{- join (hasKey $e "separator" | ternary $e.separator ",") $members -}}
{{- end -}}
{{- end -}}

{{/*
A NetworkPolicy peer of networkPolicy.allowFrom or .metricsFrom: podLabels, namespaceLabels or both. By key, not by
truth: an empty map is a selector too (namespaceLabels: {} = every namespace), as the program renders it.
*/}}
{{- define "stateful-app.policyPeer" -}}
{{- if hasKey . "podLabels" }}
podSelector:
  matchLabels: {{- toYaml .podLabels | nindent 4 }}
{{- end }}
{{- if hasKey . "namespaceLabels" }}
namespaceSelector:
  matchLabels: {{- toYaml .namespaceLabels | nindent 4 }}
{{- end }}
{{- end -}}
