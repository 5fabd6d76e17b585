namespace DiscreteGrad.Tests.Solvers;

/// <summary>Brute force over the spanning trees of K_n for the tests: the edges in edge-list order and every tree as an edge mask.</summary>
internal static class SpanningTrees
{
    /// <summary>The edges (i, j), i &lt; j, of K_n in row-major order of the strict upper triangle.</summary>
    public static (int I, int J)[] Edges(int n)
    {
        var list = new List<(int, int)>();
        for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) list.Add((i, j));
        return list.ToArray();
    }

    /// <summary>Whether the 0/1 edge indicator <paramref name="z"/> [m] is a spanning tree of K_n: n - 1 edges, no cycle.</summary>
    public static bool IsSpanningTree(ReadOnlySpan<double> z, int n)
    {
        var edges = Edges(n);
        if (z.Length != edges.Length) return false;
        var parent = Enumerable.Range(0, n).ToArray();
        int Find(int x) { while (parent[x] != x) x = parent[x]; return x; }
        int count = 0;
        for (int e = 0; e < edges.Length; e++)
        {
            if (z[e] == 0) continue;
            if (z[e] != 1) return false;
            int a = Find(edges[e].I), b = Find(edges[e].J);
            if (a == b) return false;
            parent[a] = b;
            count++;
        }
        return count == n - 1;
    }

    /// <summary>Every spanning tree of K_n (n &lt;= 6) as an edge mask [m] of 0/1, found by testing every subset of n - 1 edges.</summary>
    public static List<double[]> All(int n)
    {
        int m = n * (n - 1) / 2;
        var trees = new List<double[]>();
        for (int mask = 0; mask < 1 << m; mask++)
        {
            if (System.Numerics.BitOperations.PopCount((uint)mask) != n - 1) continue;
            var z = Enumerable.Range(0, m).Select(e => (double)(mask >> e & 1)).ToArray();
            if (IsSpanningTree(z, n)) trees.Add(z);
        }
        return trees;
    }
}
