# Must fail: enabled, but no backup would ever run.
{
  odbox.backup.odoo.enable = true;
}
