{{/* The chart's name, or nameOverride. */}}
{{- define "xdb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource's name: fullnameOverride, or the release name followed by the
chart name unless the release name already holds it. Kept to 52 characters so that the
longest suffix the chart adds ("-leader-election") still fits in a 63-character name.
*/}}
{{- define "xdb.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := include "xdb.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select the operator's pods; they never change over a release's life. */}}
{{- define "xdb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "xdb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{/* Labels of every object the chart makes. */}}
{{- define "xdb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "xdb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: xpander-db-operator
{{- end }}

{{- define "xdb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "xdb.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "xdb.image" -}}
{{- $repo := required "image.repository is required" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repo .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Which source the extra CA bundle comes from: "configMap", "secret", "pem", or "" for none.
Setting more than one is a mistake the chart refuses rather than guessing.
*/}}
{{- define "xdb.caSource" -}}
{{- $ca := .Values.xpanderAPI.caBundle }}
{{- $set := list }}
{{- if $ca.configMap.name }}{{ $set = append $set "configMap" }}{{ end }}
{{- if $ca.secret.name }}{{ $set = append $set "secret" }}{{ end }}
{{- if $ca.pem }}{{ $set = append $set "pem" }}{{ end }}
{{- if gt (len $set) 1 }}
{{- fail (printf "xpanderAPI.caBundle: set only one of configMap.name, secret.name and pem (got %s)" (join ", " $set)) }}
{{- end }}
{{- first $set | default "" }}
{{- end }}

{{/* The CA bundle's file name inside its mount. */}}
{{- define "xdb.caKey" -}}
{{- $src := include "xdb.caSource" . }}
{{- if eq $src "configMap" }}{{ .Values.xpanderAPI.caBundle.configMap.key }}
{{- else if eq $src "secret" }}{{ .Values.xpanderAPI.caBundle.secret.key }}
{{- else }}ca.crt{{ end }}
{{- end }}

{{- define "xdb.caMountPath" -}}/etc/xpander-db-operator/ca{{- end }}

{{/*
The manager's arguments as a YAML list of "--name=value" strings. Built as a list and written
with toYaml, so that a selector or URL is quoted as YAML needs whatever it holds.
*/}}
{{- define "xdb.args" -}}
{{- $v := .Values }}
{{- $args := list
  (printf "--xpander-api-url=%s" $v.xpanderAPI.url)
  (printf "--xpander-timeout=%s" $v.xpanderAPI.timeout) }}
{{- if include "xdb.caSource" . }}
{{- $args = append $args (printf "--xpander-ca-file=%s/%s" (include "xdb.caMountPath" .) (include "xdb.caKey" .)) }}
{{- end }}
{{- $args = concat $args (list
  (printf "--max-concurrent-reconciles=%d" (int64 $v.maxConcurrentReconciles))
  (printf "--retry-backoff-base=%s" $v.retryBackoff.base)
  (printf "--retry-backoff-max=%s" $v.retryBackoff.max)
  (printf "--graceful-shutdown-timeout=%s" $v.gracefulShutdownTimeout)) }}
{{- with $v.watch.namespaces }}
{{- $args = append $args (printf "--watch-namespaces=%s" (join "," .)) }}
{{- end }}
{{- with $v.watch.labelSelector }}
{{- $args = append $args (printf "--watch-label-selector=%s" .) }}
{{- end }}
{{- $args = concat $args (list
  (printf "--api-answer-max-age=%s" $v.apiAnswers.maxAge)
  (printf "--api-answer-cache-size=%d" (int64 $v.apiAnswers.cacheSize))
  (printf "--kube-api-qps=%s" (toString $v.kubeAPI.qps))
  (printf "--kube-api-burst=%d" (int64 $v.kubeAPI.burst))
  (printf "--leader-elect=%t" $v.leaderElection.enabled)
  (printf "--leader-election-id=%s" $v.leaderElection.id)) }}
{{- with $v.leaderElection.namespace }}
{{- $args = append $args (printf "--leader-election-namespace=%s" .) }}
{{- end }}
{{- if $v.metrics.enabled }}
{{- $args = append $args (printf "--metrics-bind-address=:%d" (int64 $v.metrics.port)) }}
{{- else }}
{{- $args = append $args "--metrics-bind-address=0" }}
{{- end }}
{{- $args = concat $args (list
  (printf "--metrics-secure=%t" $v.metrics.secure)
  (printf "--health-probe-bind-address=:%d" (int64 $v.healthProbe.port))) }}
{{- with $v.logging.level }}{{ $args = append $args (printf "--zap-log-level=%s" (toString .)) }}{{ end }}
{{- with $v.logging.encoder }}{{ $args = append $args (printf "--zap-encoder=%s" .) }}{{ end }}
{{- with $v.logging.stacktraceLevel }}{{ $args = append $args (printf "--zap-stacktrace-level=%s" .) }}{{ end }}
{{- with $v.logging.timeEncoding }}{{ $args = append $args (printf "--zap-time-encoding=%s" .) }}{{ end }}
{{- if $v.logging.devel }}{{ $args = append $args "--zap-devel=true" }}{{ end }}
{{- concat $args $v.extraArgs | toYaml }}
{{- end }}
