# Must fail: a schedule is a list of calendar expressions.
{
  odbox.backup.odoo = {
    enable = true;
    hot-schedule = "11:00:00";
  };
}
