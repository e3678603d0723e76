#!/usr/bin/env bash
# bulu restore: a backup folder (scripts/backup.sh) into an EMPTY database and an EMPTY media
# folder, then the checks: checksums, `manage.py verify_log` (every approval chain whole),
# the chain heads against the copy taken with the backup, and row counts (docs/deploy.md).
#
#   scripts/restore.sh BACKUP_DIR TARGET_DATABASE_URL TARGET_MEDIA_ROOT
#
# The target database must exist and hold no table (createdb -O bulu bulu_restored); the media
# folder must be empty or missing. Nothing is overwritten: restoring over the live database is
# done by restoring next to it, checking, then pointing bulu.env at the restored one.
set -euo pipefail

[ $# -eq 3 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
backup="$1" target_db="$2" target_media="$3"
app="${BULU_APP_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
python="${BULU_PYTHON:-$app/.venv/bin/python}"
psql_q() { psql --no-psqlrc --quiet --tuples-only --no-align --set ON_ERROR_STOP=1 "$target_db" "$@"; }

for f in db.dump media.tar.gz chain-heads.csv SHA256SUMS; do
  [ -f "$backup/$f" ] || { echo "restore: $backup/$f is missing" >&2; exit 2; }
done
(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || { echo "restore: checksums differ" >&2; exit 1; }
tables="$(psql_q -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
[ "$tables" = "0" ] || { echo "restore: the target database has $tables tables; give an empty one" >&2; exit 2; }
if [ -d "$target_media" ] && [ -n "$(ls -A "$target_media")" ]; then
  echo "restore: $target_media is not empty" >&2; exit 2
fi

echo "== database"
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$target_db" "$backup/db.dump"
echo "== files"
mkdir -p "$target_media"
tar --extract --gzip --file="$backup/media.tar.gz" --directory="$target_media"
echo "media files: $(find "$target_media" -type f | wc -l) (backup: $(sed -n 's/^media_files=//p' "$backup/MANIFEST"))"

echo "== approval log"
# verify_log reads the settings: the restored database, a key only for this check.
(cd "$app" && DATABASE_URL="$target_db" MEDIA_ROOT="$target_media" REDIS_URL="" \
  SECRET_KEY="${SECRET_KEY:-restore-check-only-not-the-real-key}" "$python" manage.py verify_log)
heads="$(mktemp)"
trap 'rm -f "$heads"' EXIT
psql_q -c "\\copy (SELECT DISTINCT ON (request_id) request_id, id, hash FROM workflow_approvalrecord ORDER BY request_id, id DESC) TO '$heads' WITH (FORMAT csv, HEADER)"
if cmp --quiet "$heads" "$backup/chain-heads.csv"; then
  echo "chain heads: $(($(wc -l < "$heads") - 1)) requests, same last record and hash as at backup time"
else
  echo "restore: chain heads differ from the backup's chain-heads.csv" >&2; exit 1
fi

echo "== rows"
for t in accounts_user workflow_backfillrequest workflow_approvalrecord imports_creditrecord \
         imports_rosterentry imports_rosterupload personal_evidence exports_exportfile jobs_job; do
  n="$(psql_q -c "SELECT count(*) FROM $t" 2>/dev/null || echo '-')"
  printf '%-28s %s\n' "$t" "$n"
done
echo "restored: $target_db, $target_media"
