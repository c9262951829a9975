# The module imported but not enabled: nothing is generated.
{
  odbox.backup.basedir = "/backup";
  odbox.backup.odoo.hot-schedule = [ "11:00:00" ];
}
