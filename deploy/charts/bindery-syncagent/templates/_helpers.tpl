{{/* Name of the chart, or nameOverride. */}}
{{- define "bindery-syncagent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: fullnameOverride, else the release name when it contains the chart name,
else <release>-<chart>. Installing the release "bindery-syncagent" gives the names of
deploy/syncagent/rbac.yaml.
*/}}
{{- define "bindery-syncagent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "bindery-syncagent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "bindery-syncagent.labels" -}}
helm.sh/chart: {{ include "bindery-syncagent.chart" . }}
{{ include "bindery-syncagent.selectorLabels" . }}
app.kubernetes.io/version: {{ include "bindery-syncagent.imageTag" . | quote }}
app.kubernetes.io/component: syncagent
app.kubernetes.io/part-of: bindery
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting the agent's pods. */}}
{{- define "bindery-syncagent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bindery-syncagent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount the agent runs as. */}}
{{- define "bindery-syncagent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bindery-syncagent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image tag: image.tag, else the chart's appVersion. */}}
{{- define "bindery-syncagent.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* Name of the Secret holding the kcp kubeconfig; checks that exactly one source is given. */}}
{{- define "bindery-syncagent.kcpSecretName" -}}
{{- if and .Values.kcp.kubeconfig .Values.kcp.existingSecret }}
{{- fail "kcp.kubeconfig and kcp.existingSecret are exclusive: give the kubeconfig's content or the name of a Secret holding it, not both" }}
{{- else if .Values.kcp.existingSecret }}
{{- .Values.kcp.existingSecret }}
{{- else if .Values.kcp.kubeconfig }}
{{- printf "%s-kcp-kubeconfig" (include "bindery-syncagent.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- fail "a kcp kubeconfig is required: set kcp.kubeconfig (e.g. --set-file kcp.kubeconfig=kcp.kubeconfig) or kcp.existingSecret" }}
{{- end }}
{{- end }}
