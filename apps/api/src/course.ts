/**
 * Which lab a repository belongs to, and whose it is: the course
 * configuration (`LABGRADER_COURSE`, @labgrader/course), or without one
 * every repository graded with `LABGRADER_RUBRIC` as its own lab (the
 * course package's `defaultCourse`), its owner the student.
 */
import { defaultCourse, loadCourseFile, routeRepository, type CourseConfig, type Lab } from '@labgrader/course';
import type { GradeJobLab } from '@labgrader/queue';

export type CourseRoute = { lab: GradeJobLab; rubricId: string; student?: string } | { ignored: string };

/** The narrow port the webhook core uses. */
export interface CourseRouter {
  route(repository: { owner: string; name: string }): CourseRoute;
}

/** What a job carries of a lab. */
export function jobLab(lab: Lab): GradeJobLab {
  return {
    id: lab.id,
    title: lab.title ?? lab.id,
    ...(lab.passPercent !== undefined ? { passPercent: lab.passPercent } : {}),
  };
}

export function courseRouter(course: CourseConfig): CourseRouter {
  return {
    route(repository) {
      const routed = routeRepository(course, repository);
      if ('ignored' in routed) return { ignored: routed.ignored };
      // Without a course file the owner is no student (a Classroom organisation owns every repository):
      // the repository is what counts, as before (the store's default).
      return {
        lab: jobLab(routed.lab),
        rubricId: routed.lab.rubric.id,
        ...(course.configured ? { student: routed.student } : {}),
      };
    },
  };
}

/** The course file when one is configured, else the default course of one rubric. */
export async function loadCourse(options: { file?: string; rubricId: string }): Promise<CourseConfig> {
  return options.file ? loadCourseFile(options.file) : defaultCourse(options.rubricId);
}
