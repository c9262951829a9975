# The example of the original design notes (seed/backup-module-docs.md),
# verbatim: hyphenated option names, three hot runs, one cold run.
{
  odbox = {
    backup = {
      basedir = "/backup";
      odoo = {
        enable = true;
        hot-schedule = [
          "11:00:00"
          "14:00:00"
          "16:00:00"
        ];
        cold-schedule = [ "02:00:00" ];
      };
    };
  };
}
