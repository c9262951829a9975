# Must fail: a misspelt option is an error, not silently ignored.
{
  odbox.backup.odoo = {
    enable = true;
    hot-schedule = [ "11:00:00" ];
    hotSchedul = [ "14:00:00" ];
  };
}
