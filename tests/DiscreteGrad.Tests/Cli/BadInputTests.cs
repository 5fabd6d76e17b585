namespace DiscreteGrad.Tests.Cli;

/// <summary>
/// Bad input to the command-line tool, as a user types it: every case ends with exit code 2 and exactly one line of
/// output that starts with "error:" and names the cause (informational "left out:" lines aside), never a stack trace.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-badinput-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>(arguments, a fragment the error line must contain); {dir} is a fresh folder, {file} a regular file.</summary>
    public static readonly (string Args, string Expected)[] Cases =
    {
        // The tool and its grid commands.
        ("nosuch", "Unrecognized command or argument 'nosuch'"),
        ("report {dir}/none", "holds no grid (grid.json is missing)"),
        ("status {dir}", "holds no grid (grid.json is missing)"),
        ("run-cell {dir} x", "Cannot parse argument 'x'"),
        ("run-cell {dir}/none 0", "holds no grid"),
        // Settings: ranges, words, lists, counts.
        ("mnist-addition --epochs 0", "--epochs must be an integer in [1, "),
        ("mnist-addition --epochs abc", "--epochs must be an integer in [1, "),
        ("mnist-addition --epochs 2.5", "--epochs must be an integer in [1, "),
        ("mnist-addition --lr -1", "--lr must be a finite number in (0, "),
        ("mnist-addition --lr NaN", "--lr must be a finite number in (0, "),
        ("mnist-addition --lr 1e400", "--lr must be a finite number in (0, "),
        ("mnist-addition --tau 0", "--tau must be a finite number in (0, "),
        ("mnist-addition --batch 0", "--batch must be an integer in [1, "),
        ("mnist-addition --schemes ,", "--schemes must list at least one value"),
        ("mnist-addition --schemes base,base", "is listed twice"),
        ("mnist-addition --schemes foo", "--schemes: unknown value 'foo'; allowed: "),
        ("mnist-addition --seeds 0", "--seeds must be a count in [1, 100000], a list a,b,c or a range a..b (got '0')"),
        ("mnist-addition --seeds 3..1", "--seeds: '3..1' is not a range a..b of integers with a <= b"),
        ("mnist-addition --seeds 1,1", "--seeds: '1' is listed twice"),
        ("mnist-addition --tau 0.5 --tau-floor 0.8", "--tau-floor: "),
        ("mnist-addition --architecture nosuch", "--architecture: unknown value 'nosuch'"),
        ("vae --configs 8x5x", "--configs: unknown value '8x5x'"),
        ("vae --estimators nosuch", "--estimators: unknown value 'nosuch'"),
        ("vae --epochs 0", "--epochs must be an integer in [1, "),
        ("bernoulli-vae --k 0", "--k must be an integer in [1, "),
        ("ksubset-vae --methods nosuch", "--methods: unknown value 'nosuch'"),
        ("warcraft --methods nosuch", "--methods: unknown value 'nosuch'"),
        ("warcraft --size 0", "--size must be an integer in ["),
        ("polynomial --powers 2,0", "--powers must be a finite number in (0, 16] (got '0')"),
        ("polynomial --estimators st,nvil", "--estimators: unknown value 'nvil'; allowed: all, pathwise, score-function, st, stgs, gst, grmck, reinmax, gs, zgr"),
        ("polynomial --steps 100 --log-every 101", "--log-every: must be at most --steps = 100 (got 101)"),
        ("imle-gradients --cases 10x5,5x5", "--cases: '5x5' is not NxK with 2 <= N <= 24 and 1 <= K < N"),
        ("imle-gradients --methods exact", "--methods: unknown value 'exact'; allowed: "),
        ("leaderboard --mode slow", "--mode: unknown value 'slow'; allowed: quick, full"),
        ("leaderboard --suite topk --estimators reinmax", "every cell of the grid is left out: topk runs imle-forward, imle-central"),
        ("leaderboard --poly-steps -1", "--poly-steps must be an integer in [0, "),
        ("imle-gradients --lambda-min 1 --lambda-max 0.5", "--lambda-max: must be >= --lambda-min = 1 (got 0.5)"),
        ("figure-beta-toy --betas 1,0,1", "--betas: 1 is listed twice"),
        ("figure-simplex --theta 1,2", "--theta: must list exactly 3 logits (got 2)"),
        ("figure-simplex --threshold 0.2", "--threshold must be a finite number in [0.3333333333333333, 0.999999] (got '0.2')"),
        ("figure-temperature --taus 0", "--taus must be a finite number in (0, 1000000] (got '0')"),
        // Shared options.
        ("mnist-addition --threads 0", "--threads must be in [1, "),
        ("mnist-addition --threads 1024", "--threads must be in [1, "),
        ("mnist-addition --jobs 0", "--jobs must be an integer in [1, 256]"),
        ("mnist-addition --device tpu", "Argument 'tpu' not recognized. Must be one of: 'cpu', 'cuda'"),
        ("mnist-addition --device cuda", "--device cuda: CUDA is not available here"),
        ("mnist-addition --backend nosuch", "Argument 'nosuch' not recognized. Must be one of: 'local', 'slurm', 'inline'"),
        ("mnist-addition --checkpoint-every -1", "--checkpoint-every must be >= 0"),
        ("mnist-addition --resume-override nosuch", "--resume-override: unknown setting 'nosuch'"),
        ("mnist-addition --out {file}", "is a file, not a folder"),
        ("mnist-addition --out {file}/sub", "cannot create the folder"),
        ("mnist-addition --out {dir}/notgrid", "is not empty and holds no grid"),
        ("mnist-addition --slurm-cpus 0 --backend slurm", "--slurm-cpus must be an integer in [1, 4096]"),
        ("mnist-addition --backend slurm --slurm-mem '4 G'", "--slurm-mem must be one word without spaces"),
        // --config files meet the same limits as the options.
        ("mnist-addition --config {dir}/missing.json", "--config: cannot read"),
        ("mnist-addition --config {dir}/bad.json", "is not valid JSON"),
        ("mnist-addition --config {dir}/unknown.json", "has an unknown key 'nosuch'"),
        ("mnist-addition --config {dir}/range.json", "--epochs must be an integer in [1, "),
        ("mnist-addition --config {dir}/array.json", "--epochs must be an integer in [1, 10000] (got '1,2')"),
    };

    [Fact]
    public void Every_bad_input_ends_in_one_clear_line_and_exit_code_2()
    {
        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "not a folder");
        Directory.CreateDirectory(Path.Combine(_dir, "notgrid"));
        File.WriteAllText(Path.Combine(_dir, "notgrid", "something"), "x");
        File.WriteAllText(Path.Combine(_dir, "bad.json"), "{");
        File.WriteAllText(Path.Combine(_dir, "unknown.json"), """{"nosuch": 1}""");
        File.WriteAllText(Path.Combine(_dir, "range.json"), """{"epochs": 0}""");
        File.WriteAllText(Path.Combine(_dir, "array.json"), """{"epochs": [1, 2]}""");
        Assert.True(Cases.Length >= 40);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(Cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, c =>
        {
            var args = Split(c.Args.Replace("{dir}", _dir).Replace("{file}", file));
            var (code, output) = CliProcess.Run(_dir, args);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).Where(l => !l.StartsWith("left out:", StringComparison.Ordinal)).ToList();
            string why = code != 2 ? $"exit code {code}"
                : lines.Count != 1 ? $"{lines.Count} lines"
                : !lines[0].StartsWith("error: ", StringComparison.Ordinal) ? "no 'error: ' prefix"
                : !lines[0].Contains(c.Expected, StringComparison.Ordinal) ? $"missing '{c.Expected}'"
                : lines[0].Contains("   at ", StringComparison.Ordinal) ? "a stack trace" : "";
            if (why.Length > 0) failures.Add($"{c.Args}: {why}:\n{output}");
        });
        Assert.True(failures.IsEmpty, string.Join("\n---\n", failures));
    }

    [Fact]
    public void A_second_run_into_the_same_grid_folder_is_refused_unless_resuming()
    {
        string grid = Path.Combine(_dir, "g");
        var (first, output) = CliProcess.Run(_dir, "mnist-addition", "--epochs", "1", "--out", grid, "--backend", "slurm", "--dry-run");
        Assert.True(first == 0, output);
        Assert.Contains("#SBATCH --array=0", output);
        var (second, again) = CliProcess.Run(_dir, "mnist-addition", "--epochs", "1", "--out", grid, "--backend", "slurm", "--dry-run");
        Assert.Equal(2, second);
        Assert.Equal($"error: --out {grid} already holds a grid of mnist-addition: continue it with --resume, or choose another --out.", again.Trim());
        var (index, wrong) = CliProcess.Run(_dir, "run-cell", grid, "7");
        Assert.Equal(2, index);
        Assert.Equal($"error: INDEX must be in [0, 0] for {grid} (got 7).", wrong.Trim());
    }

    private static string[] Split(string commandLine)
    {
        // Arguments separated by spaces; '...' keeps spaces (enough for these cases).
        var parts = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        foreach (char ch in commandLine)
        {
            if (ch == '\'') quoted = !quoted;
            else if (ch == ' ' && !quoted)
            {
                if (current.Length > 0) parts.Add(current.ToString());
                current.Clear();
            }
            else current.Append(ch);
        }
        if (current.Length > 0) parts.Add(current.ToString());
        return parts.ToArray();
    }
}
