#!/usr/bin/env bash
# bulu backup: the database (pg_dump, custom format) and the stored files (a tar of MEDIA_ROOT),
# in one timestamped folder with a manifest (docs/deploy.md, "Backups").
#
#   scripts/backup.sh [DEST]            DEST defaults to $BULU_BACKUP_DIR or /var/backups/bulu
#
# Backups older than BULU_BACKUP_KEEP_DAYS (14) in DEST are deleted after a successful one: they
# hold personal data, and an anonymized student's stays in them until then (docs/privacy.md).
#
# DATABASE_URL (libpq form, postgres://…) and MEDIA_ROOT come from the environment, else from
# $BULU_ENV_FILE (/etc/bulu/bulu.env). The database is dumped first, then the files: a file
# written in between is an orphan in the backup (the daily purge removes it after a restore);
# a file deleted in between (a superseded PDF, a purged roster) is missing, and a PDF is
# rendered again when opened. Also writes chain-heads.csv, the last approval-record hash of every
# request: a copy kept apart from the database that verify_log's chain alone cannot give
# (docs/reliability.md, "Limits").
set -euo pipefail
umask 077

env_file="${BULU_ENV_FILE:-/etc/bulu/bulu.env}"
setting() {  # a NAME=value from the env file (no shell expansion: secrets may hold $)
  sed -n "s/^$1=//p" "$env_file" 2>/dev/null | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}
DATABASE_URL="${DATABASE_URL:-$(setting DATABASE_URL)}"
MEDIA_ROOT="${MEDIA_ROOT:-$(setting MEDIA_ROOT)}"
[ -n "$DATABASE_URL" ] || { echo "backup: DATABASE_URL is not set (nor in $env_file)" >&2; exit 2; }
[ -d "$MEDIA_ROOT" ] || { echo "backup: MEDIA_ROOT '$MEDIA_ROOT' is not a folder" >&2; exit 2; }

dest_root="${1:-${BULU_BACKUP_DIR:-/var/backups/bulu}}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
dest="$dest_root/bulu-$stamp"
mkdir -p "$dest.partial"
trap 'rm -rf "$dest.partial"' ERR

pg_dump --format=custom --compress=6 --no-owner --no-privileges \
  --file="$dest.partial/db.dump" "$DATABASE_URL"
psql --no-psqlrc --quiet --tuples-only --no-align --set ON_ERROR_STOP=1 "$DATABASE_URL" \
  -c "\\copy (SELECT DISTINCT ON (request_id) request_id, id, hash FROM workflow_approvalrecord ORDER BY request_id, id DESC) TO '$dest.partial/chain-heads.csv' WITH (FORMAT csv, HEADER)"
tar --create --gzip --file="$dest.partial/media.tar.gz" --directory="$MEDIA_ROOT" .

{
  echo "created_utc=$stamp"
  echo "host=$(hostname)"
  echo "database=$(psql --no-psqlrc --tuples-only --no-align "$DATABASE_URL" -c 'SELECT current_database()')"
  echo "media_files=$(find "$MEDIA_ROOT" -type f | wc -l)"
  echo "approval_records=$(psql --no-psqlrc --tuples-only --no-align "$DATABASE_URL" -c 'SELECT count(*) FROM workflow_approvalrecord')"
} > "$dest.partial/MANIFEST"
(cd "$dest.partial" && sha256sum db.dump media.tar.gz chain-heads.csv > SHA256SUMS)
mv "$dest.partial" "$dest"
trap - ERR
keep_days="${BULU_BACKUP_KEEP_DAYS:-14}"
find "$dest_root" -mindepth 1 -maxdepth 1 -type d -name 'bulu-*' -mtime "+$keep_days" \
  -printf 'deleted old backup: %p\n' -exec rm -rf {} +
echo "$dest"
du -sh "$dest" | cut -f1 | sed 's/^/size: /'
