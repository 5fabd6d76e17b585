using System.Globalization;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// The progress of a grid as plain lines, for output that is no terminal (a file, a pipe, a log), where a redrawn bar
/// cannot be shown: a line when a cell starts running, one each time it passes a further <see cref="MilestonePercent"/>
/// of its steps (with its latest evaluation), and one when it ends: <c>done 100%</c> with its final evaluation,
/// <c>failed</c> with the cause, or <c>stopped</c>. A cell that had finished before the launch (a resume) is reported as
/// done at 100% too. Each line is <c>[INDEX/CELLS] LABEL: ...</c>.
/// </summary>
public sealed class GridProgressLog : IGridProgress
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly TextWriter _output;
    private readonly int _cells;
    private readonly Dictionary<int, (string State, long Milestone)> _shown = new();
    private readonly object _gate = new();

    /// <summary>Writes to <paramref name="output"/>, for a grid of <paramref name="cells"/> cells.</summary>
    /// <param name="output">Where the lines go.</param>
    /// <param name="cells">Cells of the grid (for the <c>[INDEX/CELLS]</c> prefix), &gt;= 1.</param>
    /// <param name="milestonePercent">A running cell's line every this many percent of its steps, in [1, 100].</param>
    public GridProgressLog(TextWriter output, int cells, int milestonePercent = 10)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(cells, 1);
        if (milestonePercent is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(milestonePercent), milestonePercent, "milestonePercent must be in [1, 100].");
        _output = output;
        _cells = cells;
        MilestonePercent = milestonePercent;
    }

    /// <summary>A running cell's line every this many percent of its steps.</summary>
    public int MilestonePercent { get; }

    /// <inheritdoc />
    public void Update(GridCell cell, CellStatus status)
    {
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(status);
        lock (_gate)
        {
            bool seen = _shown.TryGetValue(cell.Index, out var last);
            if (status.State == "pending") return;
            if (status.State == "running")
            {
                long milestone = status.TotalSteps > 0 ? Percent(status) / MilestonePercent : 0;
                // 100% of the steps is not the end yet (a final evaluation, the checkpoint): the done line says it.
                if (seen && last.State == "running" && (milestone <= last.Milestone || Percent(status) == 100)) return;
                _shown[cell.Index] = ("running", milestone);
                Write(cell, seen && last.State == "running" ? $"{Progress(status)}{Metrics(status)}" : $"running {Progress(status)}{Metrics(status)}");
                return;
            }
            if (seen && last.State == status.State) return;   // an ended cell is reported once
            _shown[cell.Index] = (status.State, long.MaxValue);
            Write(cell, status.State switch
            {
                // Finished: all its steps, whatever the last status write before the end said, and its final evaluation.
                "done" => $"done 100%{(status.TotalSteps > 0 ? $" ({status.TotalSteps.ToString(Inv)}/{status.TotalSteps.ToString(Inv)})" : "")}{Metrics(status)}",
                "failed" => $"failed at {Progress(status)}: {status.Message}",
                "preempted" => $"stopped at {Progress(status)}, checkpoint kept (--resume continues it)",
                _ => $"{status.State} at {Progress(status)}{Metrics(status)}",
            });
        }
    }

    private static long Percent(CellStatus s) => s.TotalSteps > 0 ? Math.Clamp(100 * s.Steps / s.TotalSteps, 0, 100) : 0;

    private static string Progress(CellStatus s) =>
        s.TotalSteps > 0 ? $"{Percent(s).ToString(Inv)}% ({s.Steps.ToString(Inv)}/{s.TotalSteps.ToString(Inv)})" : $"step {s.Steps.ToString(Inv)}";

    private static string Metrics(CellStatus s) => string.IsNullOrWhiteSpace(s.Message) ? "" : "  " + s.Message;

    private void Write(GridCell cell, string text)
    {
        _output.WriteLine($"[{(cell.Index + 1).ToString(Inv)}/{_cells.ToString(Inv)}] {cell.Label}: {text}");
        _output.Flush();
    }
}
