# Must fail: nothing to back up.
{
  odbox.backup.odoo = {
    enable = true;
    hot-schedule = [ "11:00:00" ];
    databases = [ ];
  };
}
