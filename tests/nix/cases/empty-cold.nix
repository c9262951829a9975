# Hot backups only: no cold timer (a timer without OnCalendar= is refused by
# systemd); the cold service stays for manual runs.
{
  odbox.backup.odoo = {
    enable = true;
    hot-schedule = [ "11:00:00" ];
    cold-schedule = [ ];
  };
}
