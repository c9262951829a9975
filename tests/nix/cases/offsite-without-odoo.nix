# Off-site generations without the backups they would be of.
{
  odbox.backup.offsite = {
    enable = true;
    repository = "/srv/restic";
    passwordFile = "/etc/odbox-backup/restic.pass";
  };
}
