# Must fail: the backup area must be an absolute path.
{
  odbox.backup.basedir = "backup";
  odbox.backup.odoo = {
    enable = true;
    hot-schedule = [ "11:00:00" ];
  };
}
