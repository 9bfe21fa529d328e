{{/* Name of the chart, or nameOverride. */}}
{{- define "bindery-konnector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: fullnameOverride, else the release name when it contains the chart name,
else <release>-<chart>. Installing the release "bindery-konnector" gives objects named bindery-konnector.
*/}}
{{- define "bindery-konnector.fullname" -}}
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
{{- define "bindery-konnector.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "bindery-konnector.labels" -}}
helm.sh/chart: {{ include "bindery-konnector.chart" . }}
{{ include "bindery-konnector.selectorLabels" . }}
app.kubernetes.io/version: {{ include "bindery-konnector.imageTag" . | quote }}
app.kubernetes.io/component: konnector
app.kubernetes.io/part-of: bindery
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels selecting the konnector's pods. */}}
{{- define "bindery-konnector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bindery-konnector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount the konnector runs as. */}}
{{- define "bindery-konnector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bindery-konnector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image tag: image.tag, else the chart's appVersion. */}}
{{- define "bindery-konnector.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

