{{/* Names and labels shared by every template. */}}

{{- define "lagscale.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* At most 40 characters, so that the longest suffix ("-sidecar-injector") keeps names within 63. */}}
{{- define "lagscale.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "lagscale.controller" -}}{{ include "lagscale.fullname" . }}-controller{{- end -}}
{{- define "lagscale.webhookService" -}}{{ include "lagscale.fullname" . }}-webhook{{- end -}}
{{- define "lagscale.reportsService" -}}{{ include "lagscale.fullname" . }}-reports{{- end -}}
{{- define "lagscale.certSecret" -}}{{ include "lagscale.fullname" . }}-serving-cert{{- end -}}

{{- define "lagscale.serviceAccountName" -}}
{{- default (include "lagscale.controller" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "lagscale.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lagscale.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "lagscale.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "lagscale.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lagscale
{{- end -}}

{{- define "lagscale.image" -}}
{{- printf "%s:%s" .image.repository (default .appVersion .image.tag) -}}
{{- end -}}

{{/* The namespaces the webhooks see: the watched ones when given (never the release's own). */}}
{{- define "lagscale.watchedNamespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: In
    values:
      {{- toYaml .Values.watchNamespaces | nindent 6 }}
{{- end -}}
