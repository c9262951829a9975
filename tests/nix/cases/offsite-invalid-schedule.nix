# A forget schedule with an hour that does not exist fails the build.
{
  odbox.backup = {
    odoo = {
      enable = true;
      hotSchedule = [ "12:00" ];
    };
    offsite = {
      enable = true;
      repository = "/srv/restic";
      passwordFile = "/etc/odbox-backup/restic.pass";
      forgetSchedule = [ "Sun 25:00" ];
    };
  };
}
