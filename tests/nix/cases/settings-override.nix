# A key of `settings` wins over the option that derives it, and the units
# (tmpfiles, ReadWritePaths) follow the final value.
{
  odbox.backup.odoo = {
    enable = true;
    hotSchedule = [ "11:00" ];
    settings.basedir = "/mnt/backup";
  };
}
