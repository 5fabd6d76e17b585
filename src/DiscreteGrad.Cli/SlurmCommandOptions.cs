using System.CommandLine;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;

namespace DiscreteGrad.Cli;

/// <summary>The options of <c>--backend slurm</c>: resources per cell and submission.</summary>
internal sealed class SlurmCommandOptions
{
    public readonly Option<int?> Cpus = new("--slurm-cpus") { Description = "Slurm: --cpus-per-task of each cell (also the default --threads)." };
    public readonly Option<string?> Memory = new("--slurm-mem") { Description = "Slurm: --mem of each cell, e.g. 4G." };
    public readonly Option<string?> Time = new("--slurm-time") { Description = "Slurm: --time limit of each cell, e.g. 02:00:00." };
    public readonly Option<string?> Partition = new("--slurm-partition") { Description = "Slurm: --partition." };
    public readonly Option<string?> Account = new("--slurm-account") { Description = "Slurm: --account." };
    public readonly Option<string[]> Extra = new("--slurm-extra") { Description = "Slurm: a further #SBATCH line (repeatable), e.g. --slurm-extra=--qos=long.", AllowMultipleArgumentsPerToken = false };
    public readonly Option<int?> MaxConcurrent = new("--slurm-max-concurrent") { Description = "Slurm: at most this many cells at once." };
    public readonly Option<bool> DryRun = new("--dry-run") { Description = "Slurm: write and print the array script without submitting it." };

    public SlurmCommandOptions()
    {
        Cpus.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1 or > 4096) r.AddError("--slurm-cpus must be an integer in [1, 4096]."); });
        MaxConcurrent.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--slurm-max-concurrent must be >= 1."); });
        foreach (var o in new[] { Memory, Time, Partition, Account })
            o.Validators.Add(r =>
            {
                var v = r.GetValueOrDefault<string?>();
                if (v is not null && (v.Length == 0 || v.Any(char.IsWhiteSpace))) r.AddError($"{r.Option.Name} must be one word without spaces (got '{v}').");
            });
    }

    public IEnumerable<Option> All => new Option[] { Cpus, Memory, Time, Partition, Account, Extra, MaxConcurrent, DryRun };

    public SlurmBackend Backend(ParseResult pr, CellLauncher launcher)
    {
        var extra = pr.GetValue(Extra) ?? Array.Empty<string>();
        foreach (var line in extra)
            if (line.Contains('\n')) throw new SettingException("--slurm-extra", "--slurm-extra must be one line.");
        return new SlurmBackend(new SlurmOptions(pr.GetValue(Cpus), pr.GetValue(Memory), pr.GetValue(Time), pr.GetValue(Partition),
            pr.GetValue(Account), extra, pr.GetValue(MaxConcurrent), pr.GetValue(DryRun)), launcher);
    }
}
