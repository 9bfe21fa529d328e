{{/* Name of the chart, or nameOverride. */}}
{{- define "bindery-manager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: fullnameOverride, else the release name when it contains the chart name,
else <release>-<chart>. Installing the release "bindery-manager" gives objects named bindery-manager.
*/}}
{{- define "bindery-manager.fullname" -}}
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
{{- define "bindery-manager.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "bindery-manager.labels" -}}
helm.sh/chart: {{ include "bindery-manager.chart" . }}
{{ include "bindery-manager.selectorLabels" . }}
app.kubernetes.io/version: {{ include "bindery-manager.imageTag" . | quote }}
app.kubernetes.io/component: manager
app.kubernetes.io/part-of: bindery
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting the agent's pods. */}}
{{- define "bindery-manager.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bindery-manager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount the agent runs as. */}}
{{- define "bindery-manager.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bindery-manager.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image tag: image.tag, else the chart's appVersion. */}}
{{- define "bindery-manager.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* Name of the Secret the chart creates for kubeconfigs given as values. */}}
{{- define "bindery-manager.createdSecretName" -}}
{{- printf "%s-kubeconfig" (include "bindery-manager.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the Secret holding the catalog kubeconfig; checks that exactly one source is given. */}}
{{- define "bindery-manager.kcpSecretName" -}}
{{- if and .Values.kcp.kubeconfig .Values.kcp.existingSecret }}
{{- fail "kcp.kubeconfig and kcp.existingSecret are exclusive: give the kubeconfig's content or the name of a Secret holding it, not both" }}
{{- else if .Values.kcp.existingSecret }}
{{- .Values.kcp.existingSecret }}
{{- else if .Values.kcp.kubeconfig }}
{{- include "bindery-manager.createdSecretName" . }}
{{- else }}
{{- fail "a kcp kubeconfig is required: set kcp.kubeconfig (e.g. --set-file kcp.kubeconfig=admin.kubeconfig) or kcp.existingSecret" }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the fleet kubeconfig; empty when the catalog kubeconfig serves the fleet too. */}}
{{- define "bindery-manager.fleetSecretName" -}}
{{- if and .Values.fleet.kubeconfig .Values.fleet.existingSecret }}
{{- fail "fleet.kubeconfig and fleet.existingSecret are exclusive: give the kubeconfig's content or the name of a Secret holding it, not both" }}
{{- else if .Values.fleet.existingSecret }}
{{- .Values.fleet.existingSecret }}
{{- else if .Values.fleet.kubeconfig }}
{{- include "bindery-manager.createdSecretName" . }}
{{- end }}
{{- end }}

{{/* Key of the fleet kubeconfig in its Secret. */}}
{{- define "bindery-manager.fleetSecretKey" -}}
{{- if .Values.fleet.kubeconfig }}fleet-kubeconfig{{ else }}{{ .Values.fleet.secretKey }}{{ end }}
{{- end }}
