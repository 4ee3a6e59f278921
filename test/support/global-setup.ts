// Replaced when the database layer lands; kept so the suite runs from the first commit.
export default async function setup(): Promise<void> {}
