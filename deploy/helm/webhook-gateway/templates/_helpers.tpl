{{/*
Chart name, overridable.
*/}}
{{- define "webhook-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Object name prefix, "<release>-webhook-gateway". Cut at 54 characters, not
63, so that "-headless" still fits in a DNS label: adapters are pointed at
dns:///<fullname>-headless.<namespace>.svc:<grpcPort>.
*/}}
{{- define "webhook-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "webhook-gateway.headlessName" -}}
{{- printf "%s-headless" (include "webhook-gateway.fullname" .) }}
{{- end }}

{{- define "webhook-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "webhook-gateway.labels" -}}
helm.sh/chart: {{ include "webhook-gateway.chart" . }}
{{ include "webhook-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "webhook-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webhook-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "webhook-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "webhook-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Seconds Kubernetes waits between SIGTERM and SIGKILL. The gateway stops
delivering at drain_grace and then needs a moment to shut its listeners, so
the wait must be longer than drain_grace or in-flight events are lost.
*/}}
{{- define "webhook-gateway.terminationGrace" -}}
{{- $drain := int .Values.gateway.drainGraceSeconds }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $drain 10 }}
{{- else }}
{{- $grace := int .Values.terminationGracePeriodSeconds }}
{{- if le $grace $drain }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed gateway.drainGraceSeconds (%d)" $grace $drain) }}
{{- end }}
{{- $grace }}
{{- end }}
{{- end }}

{{- define "webhook-gateway.deadLetterDir" -}}
/var/lib/webhookgw
{{- end }}

{{- define "webhook-gateway.spoolDir" -}}
/var/lib/webhookgw-spool
{{- end }}

{{/*
One element of `webhooks = [...]` from a structured value.
*/}}
{{- define "webhook-gateway.webhook" -}}
{{- $w := . -}}
{
  name = {{ toJson (required "webhooks[].name is required" $w.name) }}
  url = {{ toJson (required "webhooks[].url is required" $w.url) }}
{{- with $w.headers }}
  headers {
{{- range $header, $value := . }}
{{- if kindIs "map" $value }}
{{- /* Without a prefix a bare ${?VAR} leaves the header out when VAR is unset. */}}
{{- $env := required (printf "webhooks[%s].headers.%s.env is required" $w.name $header) $value.env }}
    {{ toJson ($header | lower) }} = {{ with $value.prefix }}{{ toJson . }}{{ end }}${?{{ $env }}}
{{- else }}
    {{ toJson ($header | lower) }} = {{ toJson $value }}
{{- end }}
{{- end }}
  }
{{- end }}
{{- with $w.bodyEncoding }}
  body.encoding = {{ toJson . }}
{{- end }}
{{- with $w.usernameAbsent }}
  body.username_absent = {{ if eq . "null" }}null{{ else }}{{ toJson . }}{{ end }}
{{- end }}
{{- with $w.base62MaxBytes }}
  body.base62_max_bytes = {{ toJson . }}
{{- end }}
{{- with $w.poolSize }}
  pool_size = {{ toJson . }}
{{- end }}
{{- with $w.requestTimeout }}
  request_timeout = {{ toJson . }}
{{- end }}
{{- with $w.connectTimeout }}
  connect_timeout = {{ toJson . }}
{{- end }}
{{- with $w.idleTimeout }}
  idle_timeout = {{ toJson . }}
{{- end }}
{{- with $w.retry }}
  retry {
{{- with .maxAttempts }}
    max_attempts = {{ toJson . }}
{{- end }}
{{- with .initialBackoff }}
    initial_backoff = {{ toJson . }}
{{- end }}
{{- with .maxBackoff }}
    max_backoff = {{ toJson . }}
{{- end }}
{{- with .maxAge }}
    max_age = {{ toJson . }}
{{- end }}
  }
{{- end }}
  events = [
{{- range (required (printf "webhooks[%s].events is required" $w.name) $w.events) }}
    { event = {{ toJson .event }}{{ with .topic }}, topic = {{ toJson . }}{{ end }} }
{{- end }}
  ]
}
{{- end }}

{{/*
The whole gateway.conf. The gateway block comes from .Values.gateway, then
NanoMQ's webhook block verbatim, then the other webhooks.
*/}}
{{- define "webhook-gateway.config" -}}
{{- $g := .Values.gateway -}}
{{- if and .Values.webhooks .Values.webhooksHocon }}
{{- fail "set either webhooks or webhooksHocon, not both: both would define webhooks = [...]" }}
{{- end }}
{{- if not (or .Values.nanomqWebhook .Values.webhooks .Values.webhooksHocon) }}
{{- fail "no webhook configured: set nanomqWebhook, webhooks or webhooksHocon" }}
{{- end -}}
# Rendered by the webhook-gateway Helm chart from its values; change the
# values, not this file. Reference: gateway/HOCON.md.
gateway {
  grpc_listen = {{ printf "%s:%d" $g.listenHost (int $g.grpcPort) | toJson }}
  admin_listen = {{ printf "%s:%d" $g.listenHost (int $g.adminPort) | toJson }}
  max_queue_events = {{ toJson $g.maxQueueEvents }}
  max_queue_bytes = {{ toJson $g.maxQueueBytes }}
  max_event_bytes = {{ toJson $g.maxEventBytes }}
  max_batch_events = {{ toJson $g.maxBatchEvents }}
  drain_grace = {{ printf "%ds" (int $g.drainGraceSeconds) | toJson }}
  log_level = {{ toJson $g.logLevel }}
  log_format = {{ toJson $g.logFormat }}
{{- if $g.deadLetter.enabled }}
  dead_letter_path = {{ printf "%s/dead-letters.jsonl" (include "webhook-gateway.deadLetterDir" .) | toJson }}
  dead_letter_max_bytes = {{ toJson $g.deadLetter.maxBytes }}
{{- else }}
  dead_letter_path = ""
{{- end }}
{{- if $g.spool.enabled }}
  spool_dir = {{ include "webhook-gateway.spoolDir" . | toJson }}
{{- else }}
  spool_dir = ""
{{- end }}
}
{{- with .Values.nanomqWebhook }}

{{ . | trimSuffix "\n" }}
{{- end }}
{{- with .Values.webhooks }}

webhooks = [
{{- range . }}
{{ include "webhook-gateway.webhook" . | indent 2 }}
{{- end }}
]
{{- end }}
{{- with .Values.webhooksHocon }}

{{ . | trimSuffix "\n" }}
{{- end }}
{{- end }}
